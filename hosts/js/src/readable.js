// Generated text as people should read it: cased and spelled as the summary writes it (quals.readable).
// The metric's own decodings (the span test, the conformance vectors) are unchanged; only what is shown changes.

const WORD = /[\p{L}\p{N}\p{M}_]+/gu;
const SPLIT_NUMBER = /(\d)([,.:/]) (?=\d)/gu;
const ALNUM = /^[\p{L}\p{N}]$/u;

function escapeRegExp(c) {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"); // the syntax characters: the only escapes a /u pattern allows
}

/** The summary's own spelling of `text` when it occurs in it up to case and spaces, else null. */
export function asWritten(text, summary) {
  const chars = [...text].filter((c) => !/\s/u.test(c));
  if (!chars.length || !summary) return null;
  let pattern = chars.map(escapeRegExp).join("\\s*");
  if (ALNUM.test(chars[0])) pattern = "(?<![\\p{L}\\p{N}\\p{M}_])" + pattern;
  if (ALNUM.test(chars[chars.length - 1])) pattern += "(?![\\p{L}\\p{N}\\p{M}_])";
  const m = new RegExp(pattern, "iu").exec(summary);
  return m ? m[0] : null;
}

function casing(summary) {
  const spellings = new Map();
  for (const m of summary.matchAll(WORD)) {
    const before = summary.slice(0, m.index).trimEnd();
    const initial = !before || ".!?\"'(".includes(before[before.length - 1]);
    const low = m[0].toLowerCase();
    if (!spellings.has(low)) spellings.set(low, []);
    spellings.get(low).push([m[0], initial]);
  }
  const out = new Map();
  for (const [low, seen] of spellings) {
    const inside = seen.filter(([, initial]) => !initial).map(([w]) => w);
    if (inside.length && seen.every(([w]) => w !== low)) out.set(low, inside[0]);
  }
  return out;
}

/** `text` (a decoded question or answer) as the summary writes its words and numbers. */
export function readable(text, summary, { capitalise = false } = {}) {
  text = text.trim();
  const whole = asWritten(text, summary);
  if (whole !== null) return whole;
  const low = summary.toLowerCase();
  text = text.replace(SPLIT_NUMBER, (all, digit, punct, offset) => {
    const left = /\d+$/u.exec(text.slice(0, offset + 1));
    const right = /^\d+/u.exec(text.slice(offset + all.length));
    return left && right && low.includes(left[0] + punct + right[0]) ? digit + punct : all;
  });
  const cases = casing(summary);
  text = text.replace(WORD, (w) => (w === w.toLowerCase() && cases.has(w) ? cases.get(w) : w));
  if (capitalise && text && text[0] !== text[0].toUpperCase()) text = text[0].toUpperCase() + text.slice(1);
  return text;
}

/** [question, answer] for people (the decodings as they are, should the text defeat a pattern). */
export function pairText(question, answer, summary) {
  try {
    return [readable(question, summary, { capitalise: true }), readable(answer, summary)];
  } catch {
    return [question, answer];
  }
}
