// From generated sequences to the QA pairs QUALS scores (spec §4; Python: quals.qa).
//
// parse: split at the separator into exactly two parts. answerInSummary: the lower-cased answer is a plain
// character substring of the lower-cased summary (or of the summary as the tokenizer decodes it). select: rank
// by the summed search score, group by lower-cased answer, round-robin over the answers, checking the cap only
// between rounds, as the authors' code does.
import { codePoints } from "./pyre.js";
import { pyLower } from "./text.js";

export class QAPair {
  constructor(question, answer, tokens, sep_index, hypothesis) {
    this.question = question;
    this.answer = answer;
    this.tokens = tokens; // the generated ids: question, separator, answer (and EOS when generated)
    this.sep_index = sep_index;
    this.hypothesis = hypothesis;
  }

  /** [start, end) of the answer tokens: strictly between the separator and the final EOS. */
  get answer_slice() {
    const end = this.hypothesis.finished ? this.tokens.length - 1 : this.tokens.length;
    return [this.sep_index + 1, end];
  }
}

/** (question, answer) of one hypothesis, or null unless it holds exactly one separator. */
export function parse(hyp, { sep_id, eos_id, decode }) {
  const t = hyp.tokens;
  const body = hyp.finished && t.length && t[t.length - 1] === eos_id ? t.slice(0, -1) : t.slice();
  const s = body.indexOf(sep_id);
  if (s < 0 || body.indexOf(sep_id, s + 1) >= 0) return null;
  return new QAPair(decode(body.slice(0, s)), decode(body.slice(s + 1)), t, s, hyp);
}

export function answerInSummary(answer, summary, ...views) {
  const a = pyLower(answer);
  return [summary, ...views].some((text) => pyLower(text).includes(a));
}

export function select(pairs, maxPairs = 10) {
  const ranked = pairs.map((p, i) => [p, p.hypothesis.sum_score, i]).sort((a, b) => b[1] - a[1] || a[2] - b[2]).map((x) => x[0]);
  const groups = new Map();
  for (const p of ranked) {
    const key = pyLower(p.answer);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(p);
  }
  const queues = [...groups.values()];
  const seen = queues.map(() => new Set());
  const selected = [];
  let added = true;
  while (added && selected.length < maxPairs) {
    added = false;
    queues.forEach((q, i) => {
      if (!q.length) return;
      const p = q.shift();
      const question = pyLower(p.question);
      if (!seen[i].has(question)) { // a popped duplicate question is dropped
        seen[i].add(question);
        selected.push(p);
        added = true; // a round that only drops duplicates ends the selection
      }
    });
  }
  return selected;
}

/**
 * Where `summary` states `answer` (its first occurrence, ignoring case): [start, end] in code points, or null
 * when it is not there as written (an answer decoded through a lossy tokenizer). Python: qa.answer_span.
 */
export function answerSpan(answer, summary) {
  if (!answer) return null;
  const lowS = pyLower(summary);
  const lowA = pyLower(answer);
  // lower-casing kept every offset (in code points, as Python counts): search the lower-cased texts
  const i = codePoints(lowS) === codePoints(summary) && codePoints(lowA) === codePoints(answer) ? lowS.indexOf(lowA) : summary.indexOf(answer);
  if (i < 0) return null;
  const start = codePoints(summary, i);
  return [start, start + codePoints(answer)];
}
