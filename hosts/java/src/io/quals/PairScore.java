package io.quals;

/**
 * One selected QA pair with everything its score comes from (runtime/quals/score.py; docs/hosts.md, section 4,
 * step 7), float64.
 * S_x = mean log p(z_t | source); S_y = mean search score ("paper") or mean log p(z_t | summary) ("clean");
 * value = S_x - S_y; "ans_lm" sums log p(z_t | source) - search score over the answer tokens instead.
 */
public final class PairScore {
    public static final String[] VARIANTS = {"paper", "clean", "ans_lm"};

    public final String question, answer;
    public final int[] tokens;
    public final int sepIndex;
    public final double[] logpSource, logpSummary, searchScores;
    public final double sX, sY, value;
    public final int[] answerIndex;
    final QaPair pair; // null for a coverage pair
    // the verdict mode (null without a calibration): the calibrated probability that the pair's fact is supported
    Double pSupported;
    String verdict;

    PairScore(QaPair p, double[] logpSource, double[] logpSummary, String variant, java.util.Set<Integer> ignore) {
        if (logpSource.length != p.tokens.length || logpSummary.length != p.tokens.length
                || p.hypothesis.tokenScores.length != p.tokens.length)
            throw new IllegalArgumentException("per-token arrays must all have one entry per token");
        this.pair = p;
        question = p.question;
        answer = p.answer;
        tokens = p.tokens;
        sepIndex = p.sepIndex;
        this.logpSource = logpSource;
        this.logpSummary = logpSummary;
        searchScores = p.hypothesis.tokenScores;
        java.util.List<Integer> idx = new java.util.ArrayList<>();
        for (int i = p.sepIndex + 1; i < p.answerEnd(); i++) if (!ignore.contains(tokens[i])) idx.add(i);
        answerIndex = idx.stream().mapToInt(Integer::intValue).toArray();
        sX = F32.mean(logpSource);
        double[] t = term(variant);
        sY = t[0];
        value = t[1];
    }

    /**
     * A coverage pair (the verdict mode): no search wrote it, so its summary side is the teacher-forced one (the
     * clean variant's term; search_scores holds the same log-probs). answer_index: after the separator, before the
     * final EOS, not an ignored id.
     */
    PairScore(String question, String answer, int[] tokens, int sepIndex, double[] logpSource, double[] logpSummary,
              java.util.Set<Integer> ignore) {
        if (logpSource.length != tokens.length || logpSummary.length != tokens.length)
            throw new IllegalArgumentException("per-token arrays must all have one entry per token");
        this.pair = null;
        this.question = question;
        this.answer = answer;
        this.tokens = tokens;
        this.sepIndex = sepIndex;
        this.logpSource = logpSource;
        this.logpSummary = logpSummary;
        this.searchScores = logpSummary.clone();
        java.util.List<Integer> idx = new java.util.ArrayList<>();
        for (int i = sepIndex + 1; i < tokens.length - 1; i++) if (!ignore.contains(tokens[i])) idx.add(i);
        answerIndex = idx.stream().mapToInt(Integer::intValue).toArray();
        sX = F32.mean(logpSource);
        sY = F32.mean(logpSummary);
        value = sX - sY;
    }

    /** The verdict mode's probability that this pair's fact is supported (null without a calibration). */
    public Double pSupported() {
        return pSupported;
    }

    /** The verdict mode's supported / uncertain / unsupported (null without a calibration). */
    public String verdict() {
        return verdict;
    }

    /** This pair's term under any variant (every variant is a function of the stored log-probs). */
    public double valueFor(String variant) {
        return term(variant)[1];
    }

    private double[] term(String variant) {
        double sx = F32.mean(logpSource);
        switch (variant) {
            case "paper": {
                double sy = F32.mean(searchScores);
                return new double[] {sy, sx - sy};
            }
            case "clean": {
                double sy = F32.mean(logpSummary);
                return new double[] {sy, sx - sy};
            }
            case "ans_lm": {
                double[] d = new double[answerIndex.length];
                for (int i = 0; i < d.length; i++) d[i] = logpSource[answerIndex[i]] - searchScores[answerIndex[i]];
                return new double[] {F32.mean(searchScores), F32.pairwiseSum(d, 0, d.length)};
            }
            default:
                throw new QualsException.OptionsException("unknown variant '" + variant + "'; choose one of paper, clean, ans_lm");
        }
    }

    /** Unweighted mean of the pair terms under a variant; null when there is no pair. */
    public static Double quals(java.util.List<PairScore> pairs, String variant) {
        if (pairs.isEmpty()) return null;
        double[] v = new double[pairs.size()];
        for (int i = 0; i < v.length; i++) v[i] = pairs.get(i).valueFor(variant);
        return F32.mean(v);
    }
}
