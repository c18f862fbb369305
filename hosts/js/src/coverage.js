// Coverage pairs: every name, number and date of a summary is checked by at least one pair (the verdict mode;
// Python: quals.coverage). Each fact of the summary (src/facts.js) that no selected pair's answer covers gets a
// pair of its own: a cloze question made from its sentence (src/cloze.js), the fact as the answer. The scorer
// teacher-forces them in calls of their own, so the selected pairs' numbers (and QUALS) stay as they were.
//
// Offsets here are UTF-16 (Fact.u16); every slice point is a match boundary or a whitespace character, so they
// cut the same characters as Python's code-point offsets.
import { clozeQuestion } from "./cloze.js";
import { covers, findFacts } from "./facts.js";
import { NS, S, pySplit } from "./pyre.js";
import { pyStrip } from "./text.js";

const CLOZE_KIND = { name: "name", number: "quantity", date: "date" }; // facts' kinds -> cloze's
const SENTENCE_END = new RegExp(`[.!?](?:${S}|$)`, "gu");
const BREAK = new RegExp(`[.!?]${S}+`, "gu");
const WORDS = new RegExp(`${NS}+`, "gu");
const CLIP_WORDS = 12; // words kept on each side of a fact whose sentence makes a question of more than 30 words

/** A coverage pair before scoring: question, answer (the fact as written), the fact, the QA sequence, sep_index. */
export class CoverageTarget {
  constructor(question, answer, fact, tokens, sep_index) {
    Object.assign(this, { question, answer, fact, tokens, sep_index });
  }
}

/** [lo, hi) of the sentence of `text` that holds [start, end): after the last ". " before it to the end of the first after it. */
export function sentenceOf(text, start, end) {
  let lo = 0;
  for (const m of text.slice(0, start).matchAll(BREAK)) lo = Math.max(lo, m.index + m[0].length);
  SENTENCE_END.lastIndex = end;
  const m = SENTENCE_END.exec(text);
  return [lo, m ? m.index + m[0].length : text.length];
}

/** [lo, hi) narrowed to at most `words` whitespace-separated words before [start, end) and `words` after it. */
export function clipAround(text, start, end, lo, hi, words = CLIP_WORDS) {
  const before = [...text.slice(lo, start).matchAll(WORDS)];
  const after = [...text.slice(end, hi).matchAll(WORDS)];
  return [
    before.length > words ? lo + before[before.length - words].index : lo,
    after.length > words ? end + after[words - 1].index + after[words - 1][0].length : hi,
  ];
}

/**
 * A cloze pair for each fact of `summary` that none of `answers` covers, in the summary's order (Python's
 * coverage_targets: the fact's sentence; more than 30 words: CLIP_WORDS words each side; fewer than 4: with the
 * sentence before it, the first sentence with the one after it; still none: no pair). `codec`: the TextCodec,
 * `common`: the calibration's common words.
 */
export function coverageTargets(summary, answers, codec, sepId, common) {
  const out = [];
  for (const fact of findFacts(summary, common)) {
    if (answers.some((a) => covers(a, fact))) continue;
    const [fs, fe] = fact.u16;
    const kind = CLOZE_KIND[fact.kind];
    let [lo, hi] = sentenceOf(summary, fs, fe);
    let question = clozeQuestion(summary.slice(lo, hi), fs - lo, fe - lo, kind);
    if (question === null && pySplit(summary.slice(lo, hi)).length > 4) { // too long: the words around the fact
      [lo, hi] = clipAround(summary, fs, fe, lo, hi);
      question = clozeQuestion(summary.slice(lo, hi), fs - lo, fe - lo, kind);
    } else if (question === null) { // too short ("New Caledonia."): with the sentence before it, else after it
      [lo, hi] = lo > 0 ? [sentenceOf(summary, lo - 1, lo - 1)[0], hi] : [lo, sentenceOf(summary, hi, hi)[1]];
      question = clozeQuestion(summary.slice(lo, hi), fs - lo, fe - lo, kind);
    }
    if (question === null) continue;
    const tokens = codec.textIds(pyStrip(question)).concat([sepId], codec.textIds(pyStrip(fact.text)), [codec.tokens.eos]);
    const sepIndex = codec.textIds(pyStrip(question)).length; // not indexOf: a question may spell the separator
    out.push(new CoverageTarget(question, fact.text, fact, tokens, sepIndex));
  }
  return out;
}
