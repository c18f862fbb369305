// Cloze questions: a sentence with one span replaced by a wh-word ("Anna built it in 1990." -> "Anna built it
// when?"), the form of the training data's cloze pairs (Python: quals.cloze). The verdict mode asks one about
// every fact of a summary that no generated pair asks about (src/coverage.js).
import { B, D, S, pySplit } from "./pyre.js";
import { pyStrip } from "./text.js";

// a name followed by one of these is a person: "who", else "what" (Python's PERSON_VERBS, matched at the start)
const PERSON_VERBS = new RegExp(
  `^${S}*(?:,${S}*${D}+,${S}*)?(?:said|says|told|was|is|has|had|added|claimed|wrote|became|won|scored|` +
    `announced|insisted|admitted|explained|believes|thinks|will|would|could)${B}`,
  "u",
);
const MONEY = /[$£€%]|per ?cent|million|billion|pounds|dollars|euros/u;
const TRAILING = new RegExp(`[${S.slice(1, -1)}.!;:,"']+$`, "u");

/** The wh-word that asks for `span` of `kind` (date, quantity, anything else a name), given the text after it. */
export function whWord(kind, span, after) {
  if (kind === "date") return "when";
  if (kind === "quantity") return MONEY.test(span) ? "how much" : "how many";
  return PERSON_VERBS.test(after) ? "who" : "what";
}

/**
 * `sentence` with [start, end) (UTF-16 offsets) replaced by its wh-word, capitalised, ending in "?"; null when
 * the question would have fewer than 4 or more than 30 words.
 */
export function clozeQuestion(sentence, start, end, kind, wh = null) {
  const before = sentence.slice(0, start);
  const span = sentence.slice(start, end);
  const after = sentence.slice(end);
  let q = pyStrip(before + (wh ?? whWord(kind, span, after)) + after);
  q = q.replace(TRAILING, "");
  const n = pySplit(q).length;
  if (n < 4 || n > 30) return null;
  const first = String.fromCodePoint(q.codePointAt(0)); // Python's q[0]: a code point
  return first.toUpperCase() + q.slice(first.length) + "?";
}
