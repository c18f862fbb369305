package io.quals.verdict;

import static io.quals.verdict.PyRe.NS;
import static io.quals.verdict.PyRe.S;

import io.quals.TextCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Coverage pairs: every name, number and date of a summary is checked by at least one pair (the verdict mode;
 * Python: runtime/quals/coverage.py). Each fact of the summary that no selected pair's answer covers gets a pair
 * of its own: a cloze question made from its sentence, the fact as the answer. Offsets here are UTF-16; every
 * slice point is a match boundary or a whitespace character, so they cut the same characters as Python's.
 */
public final class Coverage {
    private Coverage() {}

    static final Map<String, String> CLOZE_KIND = Map.of("name", "name", "number", "quantity", "date", "date");
    private static final Pattern SENTENCE_END = Pattern.compile("[.!?](?:" + S + "|\\z)");
    private static final Pattern BREAK = Pattern.compile("[.!?]" + S + "+");
    private static final Pattern WORDS = Pattern.compile(NS + "+");
    static final int CLIP_WORDS = 12;

    /** A coverage pair before scoring: question, answer (the fact as written), the fact, the QA sequence, sep_index. */
    public static final class Target {
        public final String question, answer;
        public final Facts.Fact fact;
        public final int[] tokens;
        public final int sepIndex;

        Target(String question, String answer, Facts.Fact fact, int[] tokens, int sepIndex) {
            this.question = question;
            this.answer = answer;
            this.fact = fact;
            this.tokens = tokens;
            this.sepIndex = sepIndex;
        }
    }

    /** [lo, hi) of the sentence of {@code text} that holds [start, end). */
    static int[] sentenceOf(String text, int start, int end) {
        int lo = 0;
        Matcher m = BREAK.matcher(text.substring(0, start));
        while (m.find()) lo = Math.max(lo, m.end());
        Matcher e = SENTENCE_END.matcher(text);
        return new int[] {lo, e.find(end) ? e.end() : text.length()};
    }

    /** [lo, hi) narrowed to at most {@code words} words before [start, end) and {@code words} after it. */
    static int[] clipAround(String text, int start, int end, int lo, int hi, int words) {
        List<int[]> before = spans(text, lo, start), after = spans(text, end, hi);
        return new int[] {before.size() > words ? before.get(before.size() - words)[0] : lo,
            after.size() > words ? after.get(words - 1)[1] : hi};
    }

    private static List<int[]> spans(String text, int lo, int hi) {
        List<int[]> out = new ArrayList<>();
        Matcher m = WORDS.matcher(text).region(lo, hi);
        while (m.find()) out.add(new int[] {m.start(), m.end()});
        return out;
    }

    /** A cloze pair for each fact of {@code summary} that none of {@code answers} covers, in the summary's order. */
    public static List<Target> targets(String summary, List<String> answers, TextCodec codec, int sepId, int eos,
                                       Set<String> common) {
        List<Target> out = new ArrayList<>();
        for (Object[] fq : questions(summary, answers, common)) {
            Facts.Fact fact = (Facts.Fact) fq[0];
            String question = (String) fq[1];
            int[] q = codec.textIds(PyRe.strip(question)), a = codec.textIds(PyRe.strip(fact.text));
            int[] tokens = new int[q.length + a.length + 2];
            System.arraycopy(q, 0, tokens, 0, q.length);
            tokens[q.length] = sepId;
            System.arraycopy(a, 0, tokens, q.length + 1, a.length);
            tokens[tokens.length - 1] = eos;
            // sep_index: not the separator's position, a question may spell it
            out.add(new Target(question, fact.text, fact, tokens, q.length));
        }
        return out;
    }

    /**
     * {fact, question} for each fact of {@code summary} that none of {@code answers} covers: the question is made
     * from the fact's sentence; where that makes more than 30 words, from the CLIP_WORDS words on each side of the
     * fact; where it makes fewer than 4, from it and the sentence before it (the first sentence: after it). A fact
     * that still makes no question of 4 to 30 words gets none.
     */
    static List<Object[]> questions(String summary, List<String> answers, Set<String> common) {
        List<Object[]> out = new ArrayList<>();
        for (Facts.Fact fact : Facts.findFacts(summary, common)) {
            boolean covered = false;
            for (String a : answers) if (Facts.covers(a, fact)) { covered = true; break; }
            if (covered) continue;
            int fs = fact.u16Start, fe = fact.u16End;
            String kind = CLOZE_KIND.get(fact.kind);
            int[] r = sentenceOf(summary, fs, fe);
            int lo = r[0], hi = r[1];
            String question = Cloze.clozeQuestion(summary.substring(lo, hi), fs - lo, fe - lo, kind);
            if (question == null && PyRe.split(summary.substring(lo, hi)).size() > 4) { // too long: the words around it
                r = clipAround(summary, fs, fe, lo, hi, CLIP_WORDS);
                lo = r[0];
                hi = r[1];
                question = Cloze.clozeQuestion(summary.substring(lo, hi), fs - lo, fe - lo, kind);
            } else if (question == null) { // too short: with the sentence before it, else after it
                if (lo > 0) lo = sentenceOf(summary, lo - 1, lo - 1)[0];
                else hi = sentenceOf(summary, hi, hi)[1];
                question = Cloze.clozeQuestion(summary.substring(lo, hi), fs - lo, fe - lo, kind);
            }
            if (question != null) out.add(new Object[] {fact, question});
        }
        return out;
    }
}
