package io.quals.verdict;

import static io.quals.verdict.PyRe.B;
import static io.quals.verdict.PyRe.D;
import static io.quals.verdict.PyRe.S;
import static io.quals.verdict.PyRe.SPACE_BODY;

import java.util.regex.Pattern;

/**
 * Cloze questions: a sentence with one span replaced by a wh-word ("Anna built it in 1990." -> "Anna built it
 * when?"), the form of the training data's cloze pairs (Python: runtime/quals/cloze.py).
 */
public final class Cloze {
    private Cloze() {}

    // a name followed by one of these is a person: "who", else "what" (matched at the start)
    private static final Pattern PERSON_VERBS = Pattern.compile(
            "^" + S + "*(?:," + S + "*" + D + "+," + S + "*)?(?:said|says|told|was|is|has|had|added|claimed|wrote|became|"
                    + "won|scored|announced|insisted|admitted|explained|believes|thinks|will|would|could)" + B);
    private static final Pattern MONEY = Pattern.compile("[$£€%]|per ?cent|million|billion|pounds|dollars|euros");
    private static final Pattern TRAILING = Pattern.compile("[" + SPACE_BODY + ".!;:,\"']+\\z");

    /** The wh-word that asks for {@code span} of {@code kind} (date, quantity, anything else a name). */
    static String whWord(String kind, String span, String after) {
        if (kind.equals("date")) return "when";
        if (kind.equals("quantity")) return MONEY.matcher(span).find() ? "how much" : "how many";
        return PERSON_VERBS.matcher(after).lookingAt() ? "who" : "what";
    }

    /**
     * {@code sentence} with [start, end) (UTF-16 offsets) replaced by its wh-word, capitalised, ending in "?"; null
     * when the question would have fewer than 4 or more than 30 words.
     */
    public static String clozeQuestion(String sentence, int start, int end, String kind) {
        String before = sentence.substring(0, start), span = sentence.substring(start, end), after = sentence.substring(end);
        String q = PyRe.strip(before + whWord(kind, span, after) + after);
        q = TRAILING.matcher(q).replaceFirst("");
        int n = PyRe.split(q).size();
        if (n < 4 || n > 30) return null;
        String first = PyRe.first(q);
        return PyRe.upper(first) + q.substring(first.length()) + "?";
    }
}
