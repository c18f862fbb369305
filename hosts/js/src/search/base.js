// What every search shares: its options, its result and top-k (Python: quals.search.base).
//
// A search knows nothing of ONNX or tokenizers: it awaits a step function
//   step(tokens, parents) -> Float32Array (n x V) of log-probs, fresh (the search masks tokens in it)
// where tokens holds the token just appended to each row and parents the row of the previous call that
// each row extends (null on the first call).
import { OptionsError } from "../errors.js";

export const SEARCHES = ["hf", "fairseq"];
export const SEARCH_FIELDS = [
  "search", "num_beams", "num_groups", "diversity", "min_length", "max_length", "length_penalty", "num_return",
  "early_stopping",
];

const isInt = (x) => Number.isInteger(x);

/** Diverse (group) beam search settings; each field means what it means in the chosen search (docs/search.md). */
export class SearchOptions {
  constructor({
    search = "fairseq", num_beams = 4, num_groups = 1, diversity = 0.0, min_length = 0, max_length = 20,
    length_penalty = 1.0, num_return = null, early_stopping = false,
  } = {}) {
    Object.assign(this, { search, num_beams, num_groups, diversity, min_length, max_length, length_penalty, num_return, early_stopping });
    if (!SEARCHES.includes(search)) throw new OptionsError(`unknown search '${search}'; choose one of ${SEARCHES.join(", ")}`);
    for (const k of ["num_beams", "num_groups", "min_length", "max_length"]) {
      if (!isInt(this[k])) throw new OptionsError(`${k} must be an integer (got ${JSON.stringify(this[k])})`);
    }
    for (const k of ["diversity", "length_penalty"]) {
      if (typeof this[k] !== "number" || !Number.isFinite(this[k])) throw new OptionsError(`${k} must be a number (got ${JSON.stringify(this[k])})`);
    }
    if (num_beams < 1 || num_groups < 1) throw new OptionsError("num_beams and num_groups must be >= 1");
    if (num_beams % num_groups) throw new OptionsError(`num_beams (${num_beams}) must be divisible by num_groups (${num_groups})`);
    if (diversity < 0) throw new OptionsError("diversity must be >= 0");
    if (max_length < 1 || min_length < 0) throw new OptionsError("max_length must be >= 1 and min_length >= 0");
    if (num_return !== null && !(isInt(num_return) && num_return >= 1 && num_return <= num_beams)) {
      throw new OptionsError(`num_return must be between 1 and num_beams (${num_beams})`);
    }
    if (![true, false, "never"].includes(early_stopping)) throw new OptionsError("early_stopping must be True, False or 'never'");
    Object.freeze(this);
  }

  get returned() {
    return this.num_return === null ? this.num_beams : this.num_return;
  }

  with(overrides) {
    return new SearchOptions({ ...this, ...overrides });
  }
}

/**
 * One finished (or length-capped) sequence: tokens without the decoder start token (with the final EOS when it
 * ended on one), token_scores (per-step differences of the cumulative search score, float32), score (the
 * normalised score the search ranks by), finished.
 */
export class Hypothesis {
  constructor(tokens, token_scores, score, finished = true) {
    this.tokens = tokens;
    this.token_scores = token_scores;
    this.score = score;
    this.finished = finished;
  }

  /** sum(token_scores), in float64, in order (Python's sum()). */
  get sum_score() {
    let s = 0;
    for (const x of this.token_scores) s += x;
    return s;
  }
}

/** Per-token differences of float32 cumulative scores, in float32 (numpy's diff with a leading 0). */
export function cumulativeToDeltas(cumulative) {
  const out = new Array(cumulative.length);
  let prev = 0;
  for (let i = 0; i < cumulative.length; i++) {
    out[i] = Math.fround(cumulative[i] - prev);
    prev = cumulative[i];
  }
  return out;
}

/**
 * Indices (relative to `offset`) of the k largest values of values[offset : offset + n], descending; ties
 * broken by the lower index (Python's top_k). NaN counts as -Infinity.
 */
export function topK(values, offset, n, k) {
  k = Math.min(k, n);
  const idx = new Int32Array(k);
  const val = new Float64Array(k);
  let count = 0;
  for (let i = 0; i < n; i++) {
    let v = values[offset + i];
    if (v !== v) v = -Infinity;
    if (count === k && !(v > val[k - 1])) continue;
    let j = count < k ? count++ : k - 1; // the last slot, or the one that drops out
    while (j > 0 && val[j - 1] < v) { // after every kept value >= v: the earlier index wins a tie
      val[j] = val[j - 1];
      idx[j] = idx[j - 1];
      j--;
    }
    val[j] = v;
    idx[j] = i;
  }
  return Array.from(idx.subarray(0, count));
}

/**
 * topK over the scores f32(f32(x[rowBase_j + v] + add[v]) + rowAdd_j) of rows j = 0..rows-1 and tokens v < V,
 * without writing them: flat index j x V + v, as topK over the materialised (rows x V) array would give. `add`
 * (Float32Array(V) or null) carries the diversity penalties (-0 where there is none: adding it changes nothing)
 * and masked tokens (-Infinity).
 */
export function topKFused(x, rowBases, V, add, rowAdds, k) {
  const f32 = Math.fround;
  k = Math.min(k, rowBases.length * V);
  const idx = new Int32Array(k);
  const val = new Float64Array(k);
  let count = 0;
  for (let j = 0; j < rowBases.length; j++) {
    const base = rowBases[j];
    const c = rowAdds[j];
    const flat0 = j * V;
    for (let v = 0; v < V; v++) {
      let s = add === null ? f32(x[base + v] + c) : f32(f32(x[base + v] + add[v]) + c);
      if (s !== s) s = -Infinity;
      if (count === k && !(s > val[k - 1])) continue;
      let i = count < k ? count++ : k - 1;
      while (i > 0 && val[i - 1] < s) {
        val[i] = val[i - 1];
        idx[i] = idx[i - 1];
        i--;
      }
      val[i] = s;
      idx[i] = flat0 + v;
    }
  }
  return { indices: Array.from(idx.subarray(0, count)), values: Array.from(val.subarray(0, count)) };
}
