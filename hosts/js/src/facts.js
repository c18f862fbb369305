// The facts of a summary that a reader checks first: names, numbers and dates, as character spans (Python:
// quals.facts). Dates (month names, weekdays, years), numbers (digits with separators, a currency sign, a scale
// word or a unit; number words from "two"; digit ordinals) and names (runs of capitalised words in text with
// capitals, else runs of words that are not common English words, from the calibration's list). Spans never
// overlap; a date wins over a number, a number over a name.
//
// The patterns are Python's, with its Unicode \w, \d, \s and \b spelled out (src/pyre.js). The matching runs on
// JavaScript's UTF-16 strings; a Fact reports its start and end in code points, as Python does.
import { B, D, END, LETTER, S, W, codePoints, lit, pyIsUpper } from "./pyre.js";

export const KINDS = ["name", "number", "date"];

export const MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
  "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"];
export const WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
export const NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
  "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty",
  "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion", "trillion", "dozen", "dozens",
  "hundreds", "thousands", "millions", "billions"];

// Python's SCALE, word by word
const alt = (words) => `(?:${words.map(lit).join("|")})`;
const SCALE = alt(["hundred", "thousand", "million", "billion", "trillion", "m", "bn", "k"]);
// Python's UNIT, its fragments as written there (only letters, "?" and \s), each translated by pyFragment
const pyFragment = (f) => f.replace(/\\s|i/g, (x) => (x === "i" ? "[i\\u0131\\u0130]" : S));
const UNIT = `(?:${[
  "per\\s?cent", "percent", "pounds?", "dollars?", "euros?", "yen", "years?", "months?", "weeks?", "days?", "hours?",
  "minutes?", "seconds?", "miles?", "km", "kilometres?", "kilometers?", "metres?", "meters?", "feet", "foot", "inches",
  "kg", "tons?", "tonnes?", "people", "goals?", "points?", "votes?", "seats?", "homes?", "times",
].map(pyFragment).join("|")})`;
const NUM = `(?:[$£€¥]${S}?)?${D}[${D},]*(?:\\.${D}+)?`;
const MONTH = `${alt(MONTHS)}\\.?`;
const ORD = alt(["st", "nd", "rd", "th"]);

const DATE = new RegExp(
  `${B}(?:${D}{1,2}${ORD}?${S}+${MONTH}(?:,?${S}+${D}{4})?` + // 12 may 2010
    `|${MONTH}${S}+${D}{1,2}${ORD}?(?:,?${S}+${D}{4})?` + // may 12, 2010
    `|${MONTH}${S}+${D}{4}` + // may 2010
    `|(?!${lit("may")}${B})${MONTH}` + // june (may alone is a verb)
    `|${alt(WEEKDAYS)}` +
    `|(?:1[5-9]|20)${D}${D}${lit("s")}?|'${D}0${lit("s")})(?!${W})`,
  "giu",
);
const NUMBER = new RegExp(
  `${B}${D}+${ORD}${B}` +
    `|(?<![\\p{L}\\p{N}_.])${NUM}(?:${S}?${SCALE}${B})?(?:${S}?%|${S}?${UNIT}${B})?` +
    `|${B}${alt(NUMBER_WORDS)}(?:[${S.slice(1, -1)}\\-]${alt(NUMBER_WORDS)})*${B}(?:${S}?${UNIT}${B})?`,
  "giu",
);
export const WORD = new RegExp(`${LETTER}+(?:['’\\-]${LETTER}+)*`, "gu");
export const CONNECTORS = new Set(["of", "de", "del", "da", "van", "von", "der", "den", "le", "la", "al", "bin", "el", "du"]);
const SENTENCE_START = new RegExp(`(?:^|[.!?:;"“”(\\[]${S}*|\\n${S}*)${END}`, "u");
const ONLY_SPACE = new RegExp(`^${S}+$`, "u");
const DIGITS = new RegExp(`${D}[${D},.]*`, "gu");

const MONTH_SET = new Set(MONTHS);
const WEEKDAY_SET = new Set(WEEKDAYS);
const NUMBER_WORD_SET = new Set(NUMBER_WORDS);

/** A fact: start and end in code points (Python's offsets), `u16` the same span in UTF-16 units. */
export class Fact {
  constructor(start, end, kind, text, u16) {
    Object.assign(this, { start, end, kind, text });
    Object.defineProperty(this, "u16", { value: u16, enumerable: false });
  }
}

/** The number of code points of `text` (Python's len). */
const len = (text) => codePoints(text);

/** Whether `text` is written with capitals at all (Goyal21 is not): then capitals mark names. */
export function hasCapitals(text) {
  const letters = [...text].filter((c) => /\p{L}/u.test(c));
  return letters.some((c) => pyIsUpper(c)) && !letters.every((c) => pyIsUpper(c));
}

/**
 * The names, numbers and dates of `text`, in order, never overlapping. `common`: the Set of common words that
 * tells names from words in text without capitals (the calibration's `facts.common_words`).
 */
export function findFacts(text, common) {
  const spans = []; // [start, end, kind], UTF-16
  const free = (s, e) => spans.every(([a, b]) => e <= a || s >= b);
  for (const m of text.matchAll(DATE)) {
    const s = m.index;
    const e = s + m[0].length;
    if (free(s, e)) spans.push([s, e, "date"]);
  }
  for (const m of text.matchAll(NUMBER)) {
    const s = m.index;
    let e = s + m[0].length;
    while (e > s && " -".includes(text[e - 1])) e--;
    if (e > s && free(s, e)) spans.push([s, e, "number"]);
  }
  for (const [s, e] of names(text, common)) if (free(s, e)) spans.push([s, e, "name"]);
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0));
  return spans.map(([s, e, kind]) => new Fact(codePoints(text, s), codePoints(text, e), kind, text.slice(s, e), [s, e]));
}

/** Python's `text[max(0, s - 3):s]` in code points, from UTF-16 offset `s`. */
function threeBefore(text, s) {
  let i = s;
  for (let k = 0; k < 3 && i > 0; k++) i -= i >= 2 && (text.charCodeAt(i - 1) & 0xfc00) === 0xdc00 && (text.charCodeAt(i - 2) & 0xfc00) === 0xd800 ? 2 : 1;
  return text.slice(i, s);
}

function names(text, common) {
  const cased = hasCapitals(text);
  const out = [];
  const run = []; // name words of the current run
  const pending = []; // connectors after it ("bank of" ... "england")
  const close = () => {
    if (run.length) out.push([run[0][0], run[run.length - 1][1]]);
    run.length = 0;
    pending.length = 0;
  };
  let lastEnd = 0;
  for (const m of text.matchAll(WORD)) {
    const word = m[0];
    const s = m.index;
    const e = s + word.length;
    const gap = text.slice(lastEnd, s);
    lastEnd = e;
    if (run.length && !ONLY_SPACE.test(gap)) close(); // punctuation between words ends a run
    const lower = word.toLowerCase().replaceAll("’", "'");
    const base = lower.endsWith("'s") ? lower.slice(0, -2) : lower;
    let isName;
    if (cased) {
      const initial = SENTENCE_START.test(threeBefore(text, s)) || s === 0;
      const speaker = text.slice(e, e + 1) === ":"; // a dialogue's "Anna: ..." names a speaker, even a common word
      const first = String.fromCodePoint(word.codePointAt(0));
      isName = (pyIsUpper(first) && !(initial && common.has(base) && !speaker)) ||
        (len(word) >= 2 && pyIsUpper(word) && !common.has(base));
    } else {
      isName = !common.has(base) && len(base) >= 2;
    }
    if (isName && !MONTH_SET.has(base) && !WEEKDAY_SET.has(base) && !NUMBER_WORD_SET.has(base)) {
      run.push(...pending);
      pending.length = 0;
      const end = lower.endsWith("'s") ? e - 2 : e;
      run.push([s, end]);
      if (end !== e) close(); // a possessive ends the name
    } else if (run.length && CONNECTORS.has(lower) && !pending.length) {
      pending.push([s, e]);
    } else {
      close();
    }
  }
  close();
  return out;
}

function answerWords(text) {
  return new Set([...[...text.matchAll(WORD)].map((m) => m[0].toLowerCase()), ...[...text.matchAll(DIGITS)].map((m) => m[0])]);
}

/** Whether a QA pair's answer asks about `fact`: they share a word (case-insensitive). */
export function covers(answer, fact) {
  const a = answerWords(answer);
  for (const w of answerWords(fact.text)) if (!CONNECTORS.has(w) && a.has(w)) return true;
  return false;
}
