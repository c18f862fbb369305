package io.quals;

import io.quals.search.Hypothesis;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * From generated sequences to the QA pairs QUALS scores (runtime/quals/qa.py; docs/hosts.md, section 4,
 * steps 3-5): split at the separator, keep answers that are a lower-cased substring of the summary, then the
 * authors' round-robin selection.
 */
public final class QaPair {
    public final String question, answer;
    public final int[] tokens; // question, separator, answer (and EOS when generated)
    public final int sepIndex;
    public final Hypothesis hypothesis;

    QaPair(String question, String answer, int[] tokens, int sepIndex, Hypothesis hypothesis) {
        this.question = question;
        this.answer = answer;
        this.tokens = tokens;
        this.sepIndex = sepIndex;
        this.hypothesis = hypothesis;
    }

    /** End (exclusive) of the answer tokens: strictly between the separator and the final EOS. */
    int answerEnd() {
        return hypothesis.finished ? tokens.length - 1 : tokens.length;
    }

    /** (question, answer) of a hypothesis, or null unless it holds exactly one separator. */
    static QaPair parse(Hypothesis h, int sepId, int eosId, Function<int[], String> decode) {
        int[] t = h.tokens;
        int end = h.finished && t.length > 0 && t[t.length - 1] == eosId ? t.length - 1 : t.length;
        int sep = -1, count = 0;
        for (int i = 0; i < end; i++) if (t[i] == sepId) { count++; sep = i; }
        if (count != 1) return null;
        return new QaPair(decode.apply(Arrays.copyOfRange(t, 0, sep)), decode.apply(Arrays.copyOfRange(t, sep + 1, end)),
                t, sep, h);
    }

    /** The authors' test (lower-cased substring), also accepted against other views of the summary. */
    static boolean answerInSummary(String answer, String summary, String... views) {
        String a = lower(answer);
        if (lower(summary).contains(a)) return true;
        for (String v : views) if (lower(v).contains(a)) return true;
        return false;
    }

    static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    /** Round-robin over distinct answers ranked by summed search score; the cap is checked between rounds. */
    static List<QaPair> select(List<QaPair> pairs, int maxPairs) {
        List<QaPair> ranked = new ArrayList<>(pairs);
        ranked.sort((a, b) -> Double.compare(b.hypothesis.sumScore(), a.hypothesis.sumScore())); // stable
        Map<String, List<QaPair>> groups = new LinkedHashMap<>();
        for (QaPair p : ranked) groups.computeIfAbsent(lower(p.answer), x -> new ArrayList<>()).add(p);
        List<List<QaPair>> queues = new ArrayList<>(groups.values());
        List<java.util.Set<String>> seen = new ArrayList<>();
        for (int i = 0; i < queues.size(); i++) seen.add(new java.util.HashSet<>());
        List<QaPair> selected = new ArrayList<>();
        boolean added = true;
        while (added && selected.size() < maxPairs) {
            added = false;
            for (int i = 0; i < queues.size(); i++) {
                List<QaPair> q = queues.get(i);
                if (q.isEmpty()) continue;
                QaPair p = q.remove(0);
                if (seen.get(i).add(lower(p.question))) { // a popped duplicate question is dropped
                    selected.add(p);
                    added = true;
                }
            }
        }
        return selected;
    }
}
