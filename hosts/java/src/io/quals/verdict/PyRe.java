package io.quals.verdict;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Python's {@code re} classes in Java patterns, for the classes that port Python regexes (Facts, Cloze, Coverage,
 * Readable). In a str pattern Python's \w, \d, \s and \b are Unicode-aware; Java's are ASCII by default, and its
 * UNICODE_CHARACTER_CLASS \w also takes combining marks and connector punctuation, which Python's does not. So
 * each is spelled out here (as hosts/js/src/pyre.js does). Java's matching runs on UTF-16 strings; Python's
 * offsets are code points, see {@link #codePoints}.
 */
public final class PyRe {
    private PyRe() {}

    /** Python's whitespace (str.isspace()), as a class body. */
    public static final String SPACE_BODY =
            "\\t\\n\\x0B\\f\\r\\x1C-\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";
    /** Python's \w: str.isalnum() (letters; digits and numerals of any kind) or "_". */
    public static final String W = "[\\p{L}\\p{N}_]";
    /** Python's [^\W\d_]: letters, and the numerals that are not Nd. */
    public static final String LETTER = "[\\p{L}\\p{Nl}\\p{No}]";
    /** Python's \d: Unicode decimal digits (Nd). */
    public static final String D = "\\p{Nd}";
    /** Python's \s. */
    public static final String S = "[" + SPACE_BODY + "]";
    /** Python's \S. */
    public static final String NS = "[^" + SPACE_BODY + "]";
    /**
     * What a lookbehind for one code point of {@code cls} must read: Java's lookbehind looks back as many UTF-16
     * units as the pattern's maximum length, one for a class, so it misses a supplementary character ("𝟙"); the
     * never-matching optional second class lets it look back two units too.
     */
    public static String behind(String cls) {
        return cls + "[^\\s\\S]?";
    }

    /** Python's \b. */
    public static final String B = "(?:(?<=" + behind(W) + ")(?!" + W + ")|(?<!" + behind(W) + ")(?=" + W + "))";
    /** Python's $ without MULTILINE: the end, or before a newline that ends the text. */
    public static final String END = "(?=\\n?\\z)";

    /** Flags for a pattern compiled with re.IGNORECASE in Python. */
    public static final int IGNORECASE = Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE;

    /** A literal word for a case-insensitive pattern: Python also matches "i" to "ı" and "İ". */
    public static String lit(String word) {
        StringBuilder b = new StringBuilder();
        for (char c : word.toCharArray()) {
            if (c == 'i') b.append("[i\\x{131}\\x{130}]");
            else if (Character.isLetterOrDigit(c)) b.append(c);
            else b.append('\\').append(c);
        }
        return b.toString();
    }

    /** (?:w1|w2|...) of literal words. */
    public static String alt(String... words) {
        StringBuilder b = new StringBuilder("(?:");
        for (int k = 0; k < words.length; k++) b.append(k > 0 ? "|" : "").append(lit(words[k]));
        return b.append(')').toString();
    }

    /** Python's str.isspace() of one code point. */
    public static boolean isSpace(int c) {
        return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
    }

    /** Python's str.strip(). */
    public static String strip(String s) {
        int a = 0, b = s.length();
        while (a < b && isSpace(s.charAt(a))) a++;
        while (b > a && isSpace(s.charAt(b - 1))) b--;
        return s.substring(a, b);
    }

    /** Python's str.rstrip(). */
    public static String rstrip(String s) {
        int b = s.length();
        while (b > 0 && isSpace(s.charAt(b - 1))) b--;
        return s.substring(0, b);
    }

    /** Python's str.lower(). */
    public static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    /** Python's str.upper(). */
    public static String upper(String s) {
        return s.toUpperCase(Locale.ROOT);
    }

    /** Python's str.isalpha() of one code point (categories L*). */
    public static boolean isAlpha(int c) {
        return Character.isLetter(c);
    }

    /** Python's str.isalnum() of one code point (L*, N*). */
    public static boolean isAlnum(int c) {
        if (Character.isLetter(c)) return true;
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /** Python's str.isupper(): no lower-case or title-case character, and at least one upper-case one. */
    public static boolean isUpper(String s) {
        return cased(s, true);
    }

    /** Python's str.islower(): no upper-case or title-case character, and at least one lower-case one. */
    public static boolean isLower(String s) {
        return cased(s, false);
    }

    /** isUpper (upper) or isLower: no character of the other case nor title-case, and one of the case. */
    private static boolean cased(String s, boolean upper) {
        boolean seen = false;
        for (int k = 0; k < s.length(); ) {
            int c = s.codePointAt(k);
            k += Character.charCount(c);
            if ((upper ? Character.isLowerCase(c) : Character.isUpperCase(c)) || Character.isTitleCase(c)) return false;
            if (upper ? Character.isUpperCase(c) : Character.isLowerCase(c)) seen = true;
        }
        return seen;
    }

    /** Python's str.split() without arguments: the runs of non-whitespace. */
    public static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        int k = 0, n = s.length();
        while (k < n) {
            while (k < n && isSpace(s.charAt(k))) k++;
            int a = k;
            while (k < n && !isSpace(s.charAt(k))) k++;
            if (k > a) out.add(s.substring(a, k));
        }
        return out;
    }

    /** Code points in {@code s} before UTF-16 offset {@code i} (Python's offsets count code points). */
    public static int codePoints(String s, int i) {
        return s.codePointCount(0, i);
    }

    /** Python's len(). */
    public static int len(String s) {
        return s.codePointCount(0, s.length());
    }

    /** The first code point of a non-empty string, as a string (Python's s[0]). */
    public static String first(String s) {
        return s.substring(0, Character.charCount(s.codePointAt(0)));
    }

    /** All matches of {@code p} in {@code s}. */
    public static List<String> findAll(Pattern p, String s) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        while (m.find()) out.add(m.group());
        return out;
    }
}
