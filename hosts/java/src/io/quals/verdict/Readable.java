package io.quals.verdict;

import static io.quals.verdict.PyRe.W;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Generated text as people should read it: cased and spelled as the summary writes it (Python:
 * runtime/quals/readable.py). Only the shown text changes (the unsupported facts' question and answer); the
 * metric's decodings are unchanged.
 */
public final class Readable {
    private Readable() {}

    private static final Pattern SPLIT_NUMBER = Pattern.compile("(" + PyRe.D + ")([,.:/]) (?=" + PyRe.D + ")");
    private static final Pattern WORD = Pattern.compile(W + "+");
    private static final Pattern TRAILING_DIGITS = Pattern.compile(PyRe.D + "+\\z");
    private static final Pattern LEADING_DIGITS = Pattern.compile(PyRe.D + "+");

    /** The summary's own spelling of {@code text} when it occurs in it up to case and spaces, else null. */
    static String asWritten(String text, String summary) {
        List<Integer> chars = new ArrayList<>();
        text.codePoints().filter(c -> !PyRe.isSpace(c)).forEach(chars::add);
        if (chars.isEmpty() || summary.isEmpty()) return null;
        StringBuilder p = new StringBuilder();
        for (int k = 0; k < chars.size(); k++) {
            if (k > 0) p.append(PyRe.S).append('*');
            p.append(Pattern.quote(new String(Character.toChars(chars.get(k)))));
        }
        String pattern = p.toString();
        if (PyRe.isAlnum(chars.get(0))) pattern = "(?<!" + PyRe.behind(W) + ")" + pattern; // whole words
        if (PyRe.isAlnum(chars.get(chars.size() - 1))) pattern += "(?!" + W + ")";
        Matcher m = Pattern.compile(pattern, PyRe.IGNORECASE).matcher(summary);
        return m.find() ? m.group() : null;
    }

    private static Map<String, String> casing(String summary) {
        Map<String, List<Object[]>> spellings = new LinkedHashMap<>();
        Matcher m = WORD.matcher(summary);
        while (m.find()) {
            String before = PyRe.rstrip(summary.substring(0, m.start()));
            boolean initial = before.isEmpty() || ".!?\"'(".indexOf(before.charAt(before.length() - 1)) >= 0;
            spellings.computeIfAbsent(PyRe.lower(m.group()), x -> new ArrayList<>()).add(new Object[] {m.group(), initial});
        }
        Map<String, String> out = new HashMap<>();
        for (Map.Entry<String, List<Object[]>> e : spellings.entrySet()) {
            String low = e.getKey(), inside = null;
            boolean lowSeen = false;
            for (Object[] s : e.getValue()) {
                if (inside == null && !(Boolean) s[1]) inside = (String) s[0];
                if (s[0].equals(low)) lowSeen = true;
            }
            if (inside != null && !lowSeen) out.put(low, inside);
        }
        return out;
    }

    /** {@code text} (a decoded question or answer) as the summary writes its words and numbers. */
    static String readable(String text, String summary, boolean capitalise) {
        text = PyRe.strip(text);
        String whole = asWritten(text, summary);
        if (whole != null) return whole;
        String low = PyRe.lower(summary);
        StringBuilder b = new StringBuilder();
        Matcher m = SPLIT_NUMBER.matcher(text);
        int last = 0;
        while (m.find()) {
            b.append(text, last, m.start());
            b.append(joinedIn(m, text, low) ? m.group(1) + m.group(2) : m.group());
            last = m.end();
        }
        text = b.append(text.substring(last)).toString();
        Map<String, String> cases = casing(summary);
        b = new StringBuilder();
        m = WORD.matcher(text);
        last = 0;
        while (m.find()) {
            String w = m.group();
            b.append(text, last, m.start()).append(PyRe.isLower(w) ? cases.getOrDefault(PyRe.lower(w), w) : w);
            last = m.end();
        }
        text = b.append(text.substring(last)).toString();
        if (capitalise && !text.isEmpty() && PyRe.isLower(PyRe.first(text))) {
            String first = PyRe.first(text);
            text = PyRe.upper(first) + text.substring(first.length());
        }
        return text;
    }

    private static boolean joinedIn(Matcher m, String text, String summaryLower) {
        Matcher left = TRAILING_DIGITS.matcher(text.substring(0, m.start() + m.group(1).length()));
        Matcher right = LEADING_DIGITS.matcher(text.substring(m.end()));
        if (!left.find() || !right.lookingAt()) return false;
        return summaryLower.contains(left.group() + m.group(2) + right.group());
    }

    /** (question, answer) for people (the decodings as they are, should the text defeat a pattern). */
    public static String[] pairText(String question, String answer, String summary) {
        try {
            return new String[] {readable(question, summary, true), readable(answer, summary, false)};
        } catch (RuntimeException | StackOverflowError e) {
            return new String[] {question, answer};
        }
    }
}
