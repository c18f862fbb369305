package io.quals.search;

/**
 * One finished (or length-capped) sequence: generated ids without the decoder start token (with the final
 * EOS when it ended on one); per-token differences of the cumulative float32 search score (penalties
 * included); and the normalised score the search ranks by.
 */
public final class Hypothesis {
    public final int[] tokens;
    public final double[] tokenScores;
    public final double score;
    public final boolean finished;

    public Hypothesis(int[] tokens, double[] tokenScores, double score, boolean finished) {
        this.tokens = tokens;
        this.tokenScores = tokenScores;
        this.score = score;
        this.finished = finished;
    }

    /** Python's float(sum(token_scores)): a sequential float64 sum. */
    public double sumScore() {
        double s = 0;
        for (double x : tokenScores) s += x;
        return s;
    }

    /** float32 differences of float32 cumulative scores (np.diff with a prepended 0). */
    static double[] deltas(float[] cumulative) {
        double[] d = new double[cumulative.length];
        float prev = 0f;
        for (int i = 0; i < cumulative.length; i++) {
            d[i] = cumulative[i] - prev;
            prev = cumulative[i];
        }
        return d;
    }
}
