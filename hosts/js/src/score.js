// The QUALS score from per-token log-probs (spec §6; Python: quals.score).
//
// Per selected pair z: S_x = mean log p(z_t | source); S_y = mean search score ("paper") or mean
// log p(z_t | summary) ("clean"); value = S_x - S_y. "ans_lm" sums log p(z_t | source) - search_score_t over
// the answer tokens (skipping EOS, BOS and the manifest's ignored ids). QUALS = mean of the values (float64);
// no pair -> null.
export const VARIANTS = ["paper", "clean", "ans_lm"];

function mean(xs) {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** [S_y, the pair's term] of one variant. */
function term(src, summ, search, variant, idx) {
  const sx = mean(src);
  if (variant === "paper") {
    const sy = mean(search);
    return [sy, sx - sy];
  }
  if (variant === "clean") {
    const sy = mean(summ);
    return [sy, sx - sy];
  }
  if (variant === "ans_lm") {
    let v = 0;
    for (const i of idx) v += src[i] - search[i];
    return [mean(search), v];
  }
  throw new Error(`unknown variant '${variant}'; choose one of ${VARIANTS.join(", ")}`);
}

/** One selected QA pair with everything its score was computed from. */
export class PairScore {
  constructor(fields) {
    // question, answer, tokens, logp_source, logp_summary, search_scores, s_x, s_y, value, answer_index; the verdict
    // mode's p_supported and verdict (null without a calibration)
    Object.assign(this, { p_supported: null, verdict: null }, fields);
  }

  /** This pair's term under another variant (every variant is a function of the stored log-probs). */
  valueFor(variant) {
    return term(this.logp_source, this.logp_summary, this.search_scores, variant, this.answer_index)[1];
  }

  toDict() {
    return {
      question: this.question,
      answer: this.answer,
      tokens: [...this.tokens],
      s_x: this.s_x,
      s_y: this.s_y,
      value: this.value,
      logp_source: [...this.logp_source],
      logp_summary: [...this.logp_summary],
      search_scores: [...this.search_scores],
      verdict: this.verdict,
      p_supported: this.p_supported,
    };
  }
}

export function pairScore(pair, logpSource, logpSummary, variant, ignoreIds = new Set()) {
  const src = Array.from(logpSource);
  const summ = Array.from(logpSummary);
  const search = Array.from(pair.hypothesis.token_scores);
  if (!(src.length === summ.length && summ.length === search.length && search.length === pair.tokens.length)) {
    throw new Error("per-token arrays must all have one entry per token");
  }
  const [lo, hi] = pair.answer_slice;
  const idx = [];
  for (let i = lo; i < hi; i++) if (!ignoreIds.has(pair.tokens[i])) idx.push(i);
  const [s_y, value] = term(src, summ, search, variant, idx);
  return new PairScore({
    question: pair.question, answer: pair.answer, tokens: pair.tokens, logp_source: src, logp_summary: summ,
    search_scores: search, s_x: mean(src), s_y, value, answer_index: idx,
  });
}

/** Mean of the pair terms (of `variant`, default: the one they were scored with); null when there is no pair. */
export function quals(pairs, variant = null) {
  if (!pairs.length) return null;
  return mean(pairs.map((p) => (variant === null ? p.value : p.valueFor(variant))));
}
