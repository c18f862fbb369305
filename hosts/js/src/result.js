// The result of scoring one (source, summary) record (Python: quals.result).
export const STATUS_OK = "ok";
export const STATUS_NO_PAIRS = "no_qa_pairs";
export const STATUS_ERROR = "error";

export class Result {
  constructor({
    quals, status, n_pairs = 0, error = null, variant = "paper", n_hypotheses = 0, n_span_valid = 0, source_tokens = 0,
    source_truncated = false, summary_tokens = 0, summary_truncated = false, pairs = [],
    verdict = null, p_consistent = null, unsupported = null, coverage = [],
  }) {
    // verdict, p_consistent, unsupported ([{question, answer, span}]): the verdict mode's (null without a
    // calibration, or without a score); coverage: its coverage pairs (PairScores, judged, never in quals)
    Object.assign(this, {
      quals, status, n_pairs, error, variant, n_hypotheses, n_span_valid, source_tokens, source_truncated,
      summary_tokens, summary_truncated, pairs, verdict, p_consistent, unsupported, coverage,
    });
  }

  /** Python's Result.to_dict: the same keys in the same order; `details` adds the pairs and the coverage pairs. */
  toDict(details = false) {
    const d = {
      quals: this.quals,
      n_pairs: this.n_pairs,
      status: this.status,
      variant: this.variant,
      n_hypotheses: this.n_hypotheses,
      n_span_valid: this.n_span_valid,
      source_tokens: this.source_tokens,
      source_truncated: this.source_truncated,
      summary_tokens: this.summary_tokens,
      summary_truncated: this.summary_truncated,
      verdict: this.verdict,
      p_consistent: this.p_consistent,
      unsupported: this.unsupported === null ? null : this.unsupported.map((f) => ({ question: f.question, answer: f.answer, span: f.span })),
    };
    if (this.error !== null) d.error = this.error;
    if (details) {
      d.pairs = this.pairs.map((p) => p.toDict());
      d.coverage_pairs = this.coverage.map((p) => p.toDict());
    }
    return d;
  }
}

export function errorResult(message, variant = "paper") {
  return new Result({ quals: null, status: STATUS_ERROR, error: message, variant });
}
