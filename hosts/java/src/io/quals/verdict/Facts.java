package io.quals.verdict;

import static io.quals.verdict.PyRe.B;
import static io.quals.verdict.PyRe.D;
import static io.quals.verdict.PyRe.END;
import static io.quals.verdict.PyRe.LETTER;
import static io.quals.verdict.PyRe.S;
import static io.quals.verdict.PyRe.SPACE_BODY;
import static io.quals.verdict.PyRe.W;
import static io.quals.verdict.PyRe.alt;
import static io.quals.verdict.PyRe.lit;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The facts of a summary that a reader checks first: names, numbers and dates, as character spans (Python:
 * runtime/quals/facts.py). Dates (month names, weekdays, years), numbers (digits with separators, a currency
 * sign, a scale word or a unit; number words from "two"; digit ordinals) and names (runs of capitalised words in
 * text with capitals, else runs of words that are not common English words, from the calibration's list). Spans
 * never overlap; a date wins over a number, a number over a name. The patterns are Python's with its Unicode
 * classes spelled out ({@link PyRe}); a Fact reports its start and end in code points, as Python does.
 */
public final class Facts {
    private Facts() {}

    public static final List<String> MONTHS = List.of("january", "february", "march", "april", "may", "june", "july",
            "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
            "sep", "sept", "oct", "nov", "dec");
    public static final List<String> WEEKDAYS = List.of("monday", "tuesday", "wednesday", "thursday", "friday",
            "saturday", "sunday");
    public static final List<String> NUMBER_WORDS = List.of("two", "three", "four", "five", "six", "seven", "eight",
            "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
            "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
            "thousand", "million", "billion", "trillion", "dozen", "dozens", "hundreds", "thousands", "millions",
            "billions");
    public static final Set<String> CONNECTORS = Set.of("of", "de", "del", "da", "van", "von", "der", "den", "le",
            "la", "al", "bin", "el", "du");

    private static final String SCALE = alt("hundred", "thousand", "million", "billion", "trillion", "m", "bn", "k");
    private static final String UNIT;
    static {
        String[] fragments = {"per\\s?cent", "percent", "pounds?", "dollars?", "euros?", "yen", "years?", "months?",
            "weeks?", "days?", "hours?", "minutes?", "seconds?", "miles?", "km", "kilometres?", "kilometers?", "metres?",
            "meters?", "feet", "foot", "inches", "kg", "tons?", "tonnes?", "people", "goals?", "points?", "votes?",
            "seats?", "homes?", "times"};
        StringBuilder b = new StringBuilder("(?:");
        for (int k = 0; k < fragments.length; k++) {
            String f = fragments[k].replace("\\s", "\u0000").replace("i", "[i\\x{131}\\x{130}]").replace("\u0000", S);
            b.append(k > 0 ? "|" : "").append(f);
        }
        UNIT = b.append(')').toString();
    }
    private static final String NUM = "(?:[$£€¥]" + S + "?)?" + D + "[" + D + ",]*(?:\\." + D + "+)?";
    private static final String MONTH = alt(MONTHS.toArray(new String[0])) + "\\.?";
    private static final String ORD = alt("st", "nd", "rd", "th");
    private static final String NW = alt(NUMBER_WORDS.toArray(new String[0]));

    static final Pattern DATE = Pattern.compile(
            B + "(?:" + D + "{1,2}" + ORD + "?" + S + "+" + MONTH + "(?:,?" + S + "+" + D + "{4})?"
                    + "|" + MONTH + S + "+" + D + "{1,2}" + ORD + "?(?:,?" + S + "+" + D + "{4})?"
                    + "|" + MONTH + S + "+" + D + "{4}"
                    + "|(?!" + lit("may") + B + ")" + MONTH
                    + "|" + alt(WEEKDAYS.toArray(new String[0]))
                    + "|(?:1[5-9]|20)" + D + D + lit("s") + "?|'" + D + "0" + lit("s") + ")(?!" + W + ")",
            PyRe.IGNORECASE);
    static final Pattern NUMBER = Pattern.compile(
            B + D + "+" + ORD + B
                    + "|(?<!" + PyRe.behind("[\\p{L}\\p{N}_.]") + ")" + NUM + "(?:" + S + "?" + SCALE + B + ")?(?:" + S + "?%|" + S + "?" + UNIT + B + ")?"
                    + "|" + B + NW + "(?:[" + SPACE_BODY + "\\-]" + NW + ")*" + B + "(?:" + S + "?" + UNIT + B + ")?",
            PyRe.IGNORECASE);
    public static final Pattern WORD = Pattern.compile(LETTER + "+(?:['’\\-]" + LETTER + "+)*");
    private static final Pattern SENTENCE_START = Pattern.compile("(?:^|[.!?:;\"“”(\\[]" + S + "*|\\n" + S + "*)" + END);
    private static final Pattern ONLY_SPACE = Pattern.compile(S + "+");
    private static final Pattern DIGITS = Pattern.compile(D + "[" + D + ",.]*");

    /** A fact: start and end in code points (Python's offsets); u16Start, u16End the same span in UTF-16 units. */
    public static final class Fact {
        public final int start, end;
        public final String kind, text;
        public final int u16Start, u16End;

        Fact(int start, int end, String kind, String text, int u16Start, int u16End) {
            this.start = start;
            this.end = end;
            this.kind = kind;
            this.text = text;
            this.u16Start = u16Start;
            this.u16End = u16End;
        }
    }

    /** Whether {@code text} is written with capitals at all (Goyal21 is not): then capitals mark names. */
    static boolean hasCapitals(String text) {
        boolean any = false, all = true;
        for (int k = 0; k < text.length(); ) {
            int c = text.codePointAt(k);
            String ch = text.substring(k, k + Character.charCount(c));
            k += ch.length();
            if (!Character.isLetter(c)) continue;
            boolean up = PyRe.isUpper(ch);
            any |= up;
            all &= up;
        }
        return any && !all;
    }

    /** The names, numbers and dates of {@code text}, in order, never overlapping; {@code common}: the word list. */
    public static List<Fact> findFacts(String text, Set<String> common) {
        List<Object[]> spans = new ArrayList<>(); // {start, end, kind} in UTF-16 offsets
        Matcher m = DATE.matcher(text);
        while (m.find()) if (free(spans, m.start(), m.end())) spans.add(new Object[] {m.start(), m.end(), "date"});
        m = NUMBER.matcher(text);
        while (m.find()) {
            int s = m.start(), e = m.end();
            while (e > s && (text.charAt(e - 1) == ' ' || text.charAt(e - 1) == '-')) e--;
            if (e > s && free(spans, s, e)) spans.add(new Object[] {s, e, "number"});
        }
        for (int[] n : names(text, common)) if (free(spans, n[0], n[1])) spans.add(new Object[] {n[0], n[1], "name"});
        spans.sort((x, y) -> {
            int c = Integer.compare((int) x[0], (int) y[0]);
            if (c == 0) c = Integer.compare((int) x[1], (int) y[1]);
            return c != 0 ? c : ((String) x[2]).compareTo((String) y[2]);
        });
        List<Fact> out = new ArrayList<>();
        for (Object[] sp : spans) {
            int s = (int) sp[0], e = (int) sp[1];
            out.add(new Fact(PyRe.codePoints(text, s), PyRe.codePoints(text, e), (String) sp[2], text.substring(s, e), s, e));
        }
        return out;
    }

    private static boolean free(List<Object[]> spans, int s, int e) {
        for (Object[] sp : spans) if (!(e <= (int) sp[0] || s >= (int) sp[1])) return false;
        return true;
    }

    /** Python's text[max(0, s - 3):s] in code points, from UTF-16 offset s. */
    private static String threeBefore(String text, int s) {
        int i = s;
        for (int k = 0; k < 3 && i > 0; k++) i = text.offsetByCodePoints(i, -1);
        return text.substring(i, s);
    }

    private static List<int[]> names(String text, Set<String> common) {
        boolean cased = hasCapitals(text);
        List<int[]> out = new ArrayList<>();
        List<int[]> run = new ArrayList<>(); // name words of the current run
        List<int[]> pending = new ArrayList<>(); // connectors after it ("bank of" ... "england")
        Runnable close = () -> {
            if (!run.isEmpty()) out.add(new int[] {run.get(0)[0], run.get(run.size() - 1)[1]});
            run.clear();
            pending.clear();
        };
        int lastEnd = 0;
        Matcher m = WORD.matcher(text);
        while (m.find()) {
            String word = m.group();
            int s = m.start(), e = m.end();
            String gap = text.substring(lastEnd, s);
            lastEnd = e;
            if (!run.isEmpty() && !ONLY_SPACE.matcher(gap).matches()) close.run(); // punctuation ends a run
            String lower = PyRe.lower(word).replace("’", "'");
            String base = lower.endsWith("'s") ? lower.substring(0, lower.length() - 2) : lower;
            boolean isName;
            if (cased) {
                boolean initial = SENTENCE_START.matcher(threeBefore(text, s)).find() || s == 0;
                boolean speaker = e < text.length() && text.charAt(e) == ':'; // "Anna: ..." names a speaker
                isName = (PyRe.isUpper(PyRe.first(word)) && !(initial && common.contains(base) && !speaker))
                        || (PyRe.len(word) >= 2 && PyRe.isUpper(word) && !common.contains(base));
            } else {
                isName = !common.contains(base) && PyRe.len(base) >= 2;
            }
            if (isName && !MONTHS.contains(base) && !WEEKDAYS.contains(base) && !NUMBER_WORDS.contains(base)) {
                run.addAll(pending);
                pending.clear();
                int end = lower.endsWith("'s") ? e - 2 : e;
                run.add(new int[] {s, end});
                if (end != e) close.run(); // a possessive ends the name
            } else if (!run.isEmpty() && CONNECTORS.contains(lower) && pending.isEmpty()) {
                pending.add(new int[] {s, e});
            } else {
                close.run();
            }
        }
        close.run();
        return out;
    }

    private static Set<String> answerWords(String text) {
        Set<String> out = new HashSet<>();
        for (String w : PyRe.findAll(WORD, text)) out.add(PyRe.lower(w));
        out.addAll(PyRe.findAll(DIGITS, text));
        return out;
    }

    /** Whether a QA pair's answer asks about {@code fact}: they share a word (case-insensitive). */
    public static boolean covers(String answer, Fact fact) {
        Set<String> a = answerWords(answer);
        for (String w : answerWords(fact.text)) if (!CONNECTORS.contains(w) && a.contains(w)) return true;
        return false;
    }
}
