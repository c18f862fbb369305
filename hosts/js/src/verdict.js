// Verdicts beyond the paper (Python: quals.verdict; docs/hosts.md "Verdicts"). A calibration (calibration.json
// beside the bundle, fitted for that bundle) turns each scored pair into the probability that its fact is
// supported, and a summary's pairs into p_consistent:
//   x_i = FEATURES of pair i, standardised by the calibration's center and scale
//   z_i = w . x_i + b,  p_supported_i = sigmoid(z_i);  p_consistent = sigmoid(v . agg(z) + c)
// with two thresholds on each probability for the verdicts. The features read only the stored log-probs and
// texts, so a verdict is the same for every variant; no QUALS number changes.
import { BundleError } from "./errors.js";
import { sha256Hex } from "./bundle.js";

export const CALIBRATION_NAME = "calibration.json";
export const FORMAT_NAME = "quals-calibration";
export const FORMAT_VERSION = 1;
export const PAIR_VERDICTS = ["supported", "uncertain", "unsupported"];
export const SUMMARY_VERDICTS = ["consistent", "uncertain", "inconsistent"];

/** A calibration file that cannot be used with this bundle (Python's CalibrationError, a BundleError). */
export class CalibrationError extends BundleError {
  constructor(message) {
    super(message);
    this.name = "CalibrationError";
  }
}

const WORDS = /[\p{L}\p{Nd}]+/gu;
const WORD_CHAR = /[\p{L}\p{Nd}]/u;

/** Maximal runs of letters (L*) and decimal digits (Nd): the same words in every host. */
export function words(text) {
  return text.match(WORDS) ?? [];
}

/** `text` without the characters at either end that are neither letters (L*) nor decimal digits (Nd). */
export function edgeTrimmed(text) {
  const chars = [...text];
  const first = chars.findIndex((c) => WORD_CHAR.test(c));
  if (first < 0) return "";
  let last = chars.length - 1;
  while (!WORD_CHAR.test(chars[last])) last--;
  return chars.slice(first, last + 1).join("");
}

/** The source as the lexical features read it: lower-cased as written and as the tokenizer sees it, and their words. */
export class SourceText {
  constructor(raw, view, wordSet) {
    Object.assign(this, { raw, view, words: wordSet });
  }

  /** `view`: decode(encode(source)), of the whole source (never truncated). */
  static of(source, view) {
    const raw = source.toLowerCase();
    const v = view.toLowerCase();
    return new SourceText(raw, v, new Set([...words(raw), ...words(v)]));
  }
}

/**
 * What a pair's features read (Python's PairEvidence): logp_source, logp_summary, search_scores (arrays of
 * one value per token), question_index and answer_index (positions), answer (decoded, lower-cased), source.
 */
export class PairEvidence {
  constructor(fields) {
    Object.assign(this, fields);
  }
}

function mean(xs) {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** The mean of values[i] over `index`; 0 over no position. */
function meanAt(f, index) {
  return index.length ? mean(index.map(f)) : 0;
}

function answerInSource(e) {
  const a = edgeTrimmed(e.answer);
  return a && (e.source.raw.includes(a) || e.source.view.includes(a)) ? 1 : 0;
}

function answerWordsInSource(e) {
  const ws = words(e.answer);
  return ws.length ? ws.filter((w) => e.source.words.has(w)).length / ws.length : 1;
}

/** name -> feature; a calibration names the ones it uses, in its order. */
export const FEATURES = {
  answer_diff: (e) => meanAt((i) => e.logp_source[i] - e.logp_summary[i], e.answer_index),
  answer_source: (e) => meanAt((i) => e.logp_source[i], e.answer_index),
  answer_summary: (e) => meanAt((i) => e.logp_summary[i], e.answer_index),
  pair_diff: (e) => mean(e.logp_source) - mean(e.logp_summary), // the clean variant's term
  paper_term: (e) => mean(e.logp_source) - mean(e.search_scores), // the paper variant's term
  question_diff: (e) => meanAt((i) => e.logp_source[i] - e.logp_summary[i], e.question_index),
  answer_in_source: answerInSource,
  answer_words_in_source: answerWordsInSource,
};

/** ln(exp(a) + exp(b)) without overflow (numpy's logaddexp). */
function logaddexp(a, b) {
  if (a === b) return a + Math.LN2;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}

export const AGGREGATES = {
  mean: (z) => [mean(z)],
  min: (z) => [Math.min(...z)],
  "min+mean": (z) => [Math.min(...z), mean(z)],
  // a soft minimum: -log sum exp(-z), the log-odds that every pair is supported when they are independent
  softmin: (z) => [-z.map((v) => -v).reduce(logaddexp)],
};

export function sigmoid(x) {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** names[0] when p >= upper, names[2] when p < lower, else names[1] (the uncertain band). */
export function band(p, lower, upper, names) {
  return p >= upper ? names[0] : p < lower ? names[2] : names[1];
}

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Python's repr of a value in a message. */
const repr = (v) => (v === undefined || v === null ? "None" : typeof v === "string" ? `'${v}'` : JSON.stringify(v));

/** A fitted calibration (the file's content, Python's Calibration); `id` (sha256 of the file) names it in the signature. */
export class Calibration {
  constructor(fields) {
    Object.assign(this, fields);
    const unknown = this.features.filter((f) => !(f in FEATURES));
    if (unknown.length) {
      throw new CalibrationError(`calibration uses unknown feature(s) ${unknown.join(", ")}; this quals knows ` +
        `${Object.keys(FEATURES).join(", ")}`);
    }
    if (!(this.aggregate in AGGREGATES)) throw new CalibrationError(`calibration uses unknown aggregate ${repr(this.aggregate)}`);
    const n = this.features.length;
    if (!(this.center.length === n && this.scale.length === n && this.pair_weights.length === n)) {
      throw new CalibrationError("calibration: center, scale and pair weights need one value per feature");
    }
    const k = AGGREGATES[this.aggregate]([0]).length;
    if (this.summary_weights.length !== k) throw new CalibrationError(`calibration: the ${this.aggregate} aggregate needs ${k} summary weight(s)`);
    if (!this.common_words.size) throw new CalibrationError("calibration: facts.common_words is empty (the word list of quals.facts)");
    for (const [lo, hi] of [this.pair_thresholds, this.summary_thresholds]) {
      if (!(lo >= 0 && lo <= hi && hi <= 1)) throw new CalibrationError("calibration: thresholds must satisfy 0 <= lower <= upper <= 1");
    }
  }

  /** Python's Calibration.from_dict: the file's parsed JSON. */
  static fromDict(d, id = "") {
    if (d.format !== FORMAT_NAME || d.format_version !== FORMAT_VERSION) {
      throw new CalibrationError(`not a ${FORMAT_NAME} file of version ${FORMAT_VERSION} (format ${repr(d.format)}, ` +
        `version ${repr(d.format_version)})`);
    }
    const num = (v) => {
      const x = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN; // Python's float()
      if (Number.isNaN(x)) throw new TypeError(`not a number: ${repr(v)}`);
      return x;
    };
    const list = (v) => {
      if (!Array.isArray(v)) throw new TypeError(`not a list: ${repr(v)}`);
      return v;
    };
    let fields;
    try {
      const { pair, summary } = d;
      fields = {
        bundle: String(d.bundle ?? missing("bundle")), features: list(d.features).map(String),
        center: list(d.center).map(num), scale: list(d.scale).map(num),
        pair_weights: list(pair.weights).map(num), pair_bias: num(pair.bias),
        pair_thresholds: [num(pair.unsupported_below), num(pair.supported_from)],
        aggregate: String(d.aggregate ?? missing("aggregate")),
        summary_weights: list(summary.weights).map(num), summary_bias: num(summary.bias),
        summary_thresholds: [num(summary.inconsistent_below), num(summary.consistent_from)],
        common_words: new Set(list(d.facts.common_words).map(String)),
        provenance: { ...(d.provenance ?? {}) }, id,
      };
    } catch (exc) {
      throw new CalibrationError(`calibration: missing or malformed field (${exc.message})`);
    }
    return new Calibration(fields);
  }

  /** The pair's logit z = sum_k w_k (x_k - center_k) / scale_k + b. */
  pairLogit(e) {
    const x = this.features.map((f, k) => (FEATURES[f](e) - this.center[k]) / this.scale[k]);
    return dot(this.pair_weights, x) + this.pair_bias;
  }

  /** The verdicts of one summary's pairs ({p_consistent, verdict, pairs: [{p_supported, verdict}]}); null without a pair. */
  judge(evidence) {
    if (!evidence.length) return null;
    const z = evidence.map((e) => this.pairLogit(e));
    const pairs = z.map((v) => {
      const p = sigmoid(v);
      return { p_supported: p, verdict: band(p, ...this.pair_thresholds, PAIR_VERDICTS) };
    });
    const p = sigmoid(dot(this.summary_weights, AGGREGATES[this.aggregate](z)) + this.summary_bias);
    return { p_consistent: p, verdict: band(p, ...this.summary_thresholds, SUMMARY_VERDICTS), pairs };
  }
}

function missing(key) {
  throw new TypeError(`'${key}' missing`);
}

/**
 * The calibration beside a bundle (its file store), or null when it has none. Refused when it was fitted for
 * another bundle: a calibration reads one model's log-probs, and a changed model needs a refit.
 */
export async function loadCalibration(store, bundleDigest) {
  const data = await store.read(CALIBRATION_NAME);
  if (data === null) return null;
  const where = store.location(CALIBRATION_NAME);
  let d;
  try {
    d = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch (exc) {
    throw new CalibrationError(`${where}: corrupt calibration (${exc.message})`);
  }
  if (d === null || typeof d !== "object" || Array.isArray(d)) throw new CalibrationError(`${where}: corrupt calibration (not a JSON object)`);
  const cal = Calibration.fromDict(d, await sha256Hex(data));
  if (cal.bundle !== bundleDigest) {
    throw new CalibrationError(`${where} was fitted for bundle ${cal.bundle.slice(0, 12)}, not this one ` +
      `(${bundleDigest.slice(0, 12)}): refit it (python -m quals.train.calibrate --model ${store.root}) or remove it ` +
      "to score without verdicts");
  }
  return cal;
}
