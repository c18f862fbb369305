// Python's `re` classes in JavaScript patterns (all used with the `u` flag), for the modules that port Python
// regexes (facts.js, cloze.js, coverage.js). In a str pattern Python's \w, \d, \s and \b are Unicode-aware;
// JavaScript's \w, \d and \b are ASCII even with /u, and its \s is another set, so each is spelled out here.
import { PY_SPACE } from "./text.js";

/** Python's \w: str.isalnum() (letters; digits and numerals of any kind) or "_"; combining marks are not in it. */
export const W = "[\\p{L}\\p{N}_]";
/** Python's [^\W\d_]: \w without decimal digits and "_" (letters, and the numerals that are not Nd). */
export const LETTER = "[\\p{L}\\p{Nl}\\p{No}]";
/** Python's \d: Unicode decimal digits (Nd). */
export const D = "\\p{Nd}";
/** Python's \s: str.isspace() (as pyStrip strips). */
export const S = `[${PY_SPACE}]`;
/** Python's \S. */
export const NS = `[^${PY_SPACE}]`;
/** Python's \b: between a \w and a non-\w character (or an end). */
export const B = `(?:(?<=${W})(?!${W})|(?<!${W})(?=${W}))`;
/** Python's `$` without MULTILINE: the end, or before a newline that ends the text. */
export const END = "(?=\\n?$)";

/**
 * A literal word for a pattern compiled with re.IGNORECASE: Python also matches "i" to "ı" (U+0131) and "İ"
 * (U+0130), which JavaScript's /iu case folding does not (it does fold "ſ" to "s" and the Kelvin sign to "k",
 * as Python does).
 */
export function lit(word) {
  return word.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&").replace(/i/g, "[i\\u0131\\u0130]");
}

/** Whether one code point is upper case as Python's str.isupper() reads a character. */
function upperChar(c) {
  return /\p{Uppercase}/u.test(c);
}

/** Python's str.isupper(): no lower-case or title-case character, and at least one upper-case one. */
export function pyIsUpper(text) {
  let cased = false;
  for (const c of text) {
    if (/[\p{Lowercase}\p{Lt}]/u.test(c)) return false;
    if (upperChar(c)) cased = true;
  }
  return cased;
}

/** Python's str.split() without arguments: the runs of non-whitespace. */
export function pySplit(text) {
  return text.match(new RegExp(`${NS}+`, "gu")) ?? [];
}

/** Code points in `text` before UTF-16 offset `i` (Python's offsets count code points). */
export function codePoints(text, i = text.length) {
  let n = 0;
  for (let k = 0; k < i; k++) {
    const u = text.charCodeAt(k);
    if (u < 0xdc00 || u > 0xdfff || k === 0 || (text.charCodeAt(k - 1) & 0xfc00) !== 0xd800) n++;
  }
  return n;
}

/** The UTF-16 offset of code point `n` of `text` (clamped to its length). */
export function utf16Offset(text, n) {
  let i = 0;
  for (let k = 0; k < n && i < text.length; k++) i += text.codePointAt(i) > 0xffff ? 2 : 1;
  return i;
}
