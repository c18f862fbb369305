package io.quals;

import io.quals.search.Hypothesis;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The score of one (source, summary) record, with the same fields as the Python Result, plus the trace. */
public final class Result {
    public static final String OK = "ok", NO_PAIRS = "no_qa_pairs", ERROR = "error";

    public final Double quals; // null unless status is "ok"
    public final String status;
    public final int nPairs;
    public final String error; // null unless status is "error"
    public final String variant;
    public final int nHypotheses, nSpanValid;
    public final int sourceTokens, summaryTokens;
    public final boolean sourceTruncated, summaryTruncated;
    public final List<PairScore> pairs;
    // the trace (what the conformance vectors check): hypotheses, and indices into them
    public final List<Hypothesis> hypotheses;
    public final int[] spanValid, selected;
    // the verdict mode (io.quals.verdict; null without a calibration, or without a score)
    public String verdict;
    public Double pConsistent;
    public List<Unsupported> unsupported;
    public List<PairScore> coverage = List.of(); // the coverage pairs: judged, never in quals
    // the trace of the verdict mode (what the conformance vectors check): the coverage targets, the evidence of
    // every pair (selected pairs then coverage pairs) and the facts of the summary
    public List<io.quals.verdict.Coverage.Target> coverageTargets = List.of();
    public List<io.quals.verdict.Verdict.Evidence> evidence = List.of();

    /** An unsupported fact of a summary: the pair that checked it, and where the summary states it (code points). */
    public static final class Unsupported {
        public final String question, answer;
        public final int[] span; // null when the answer is not found as written

        Unsupported(String question, String answer, int[] span) {
            this.question = question;
            this.answer = answer;
            this.span = span;
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("question", question);
            m.put("answer", answer);
            m.put("span", span == null ? null : List.of(span[0], span[1]));
            return m;
        }
    }

    Result(Double quals, String status, String error, String variant, List<Hypothesis> hypotheses, int[] spanValid,
           int[] selected, TextCodec.Encoded src, TextCodec.Encoded summ, List<PairScore> pairs) {
        this.quals = quals;
        this.status = status;
        this.error = error;
        this.variant = variant;
        this.hypotheses = hypotheses;
        this.spanValid = spanValid;
        this.selected = selected;
        this.nPairs = pairs.size();
        this.nHypotheses = hypotheses.size();
        this.nSpanValid = spanValid.length;
        this.sourceTokens = src == null ? 0 : src.nTextTokens;
        this.sourceTruncated = src != null && src.truncated;
        this.summaryTokens = summ == null ? 0 : summ.nTextTokens;
        this.summaryTruncated = summ != null && summ.truncated;
        this.pairs = pairs;
    }

    static Result error(String message, String variant) {
        return new Result(null, ERROR, message, variant, List.of(), new int[0], new int[0], null, null, List.of());
    }

    /** The QUALS of another variant, from the same pairs (null when there is no pair). */
    public Double qualsFor(String variant) {
        return PairScore.quals(pairs, variant);
    }

    /** As the Python Result.to_dict (details: the pairs too). */
    public Map<String, Object> toMap(boolean details) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("quals", quals);
        d.put("n_pairs", nPairs);
        d.put("status", status);
        d.put("variant", variant);
        d.put("n_hypotheses", nHypotheses);
        d.put("n_span_valid", nSpanValid);
        d.put("source_tokens", sourceTokens);
        d.put("source_truncated", sourceTruncated);
        d.put("summary_tokens", summaryTokens);
        d.put("summary_truncated", summaryTruncated);
        d.put("verdict", verdict);
        d.put("p_consistent", pConsistent);
        if (unsupported == null) {
            d.put("unsupported", null);
        } else {
            List<Object> us = new ArrayList<>();
            for (Unsupported u : unsupported) us.add(u.toMap());
            d.put("unsupported", us);
        }
        if (error != null) d.put("error", error);
        if (details) {
            d.put("pairs", pairMaps(pairs));
            d.put("coverage_pairs", pairMaps(coverage));
        }
        return d;
    }

    private static List<Object> pairMaps(List<PairScore> pairs) {
        List<Object> ps = new ArrayList<>();
        for (PairScore p : pairs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("question", p.question);
            m.put("answer", p.answer);
            m.put("tokens", p.tokens);
            m.put("s_x", p.sX);
            m.put("s_y", p.sY);
            m.put("value", p.value);
            m.put("logp_source", p.logpSource);
            m.put("logp_summary", p.logpSummary);
            m.put("search_scores", p.searchScores);
            m.put("verdict", p.verdict);
            m.put("p_supported", p.pSupported);
            ps.add(m);
        }
        return ps;
    }
}
