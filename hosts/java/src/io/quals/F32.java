package io.quals;

/**
 * The float arithmetic of numpy that the numbers depend on: float32 log-softmax (max, subtract, exp, pairwise
 * sum, log) and numpy's pairwise summation (8 accumulators below 128 elements, halving above), which np.sum
 * and np.mean use for float32 and float64 alike.
 */
public final class F32 {
    private F32() {}

    /** In place: row [off, off+len) of x becomes its float32 log-softmax. tmp must hold len floats. */
    public static void logSoftmax(float[] x, int off, int len, float[] tmp) {
        float m = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) if (x[off + j] > m) m = x[off + j];
        for (int j = 0; j < len; j++) x[off + j] = x[off + j] - m;
        NativeExp.exp(x, off, len, tmp);
        float lse = (float) Math.log(pairwiseSum(tmp, 0, len));
        for (int j = 0; j < len; j++) x[off + j] = x[off + j] - lse;
    }

    /** numpy's pairwise_sum for float32 (accumulating in float32). */
    public static float pairwiseSum(float[] a, int off, int n) {
        if (n < 8) {
            float res = 0f;
            for (int i = 0; i < n; i++) res += a[off + i];
            return res;
        } else if (n <= 128) {
            float r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3];
            float r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
            int i;
            for (i = 8; i < n - (n % 8); i += 8) {
                r0 += a[off + i]; r1 += a[off + i + 1]; r2 += a[off + i + 2]; r3 += a[off + i + 3];
                r4 += a[off + i + 4]; r5 += a[off + i + 5]; r6 += a[off + i + 6]; r7 += a[off + i + 7];
            }
            float res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) res += a[off + i];
            return res;
        } else {
            int n2 = n / 2;
            n2 -= n2 % 8;
            return pairwiseSum(a, off, n2) + pairwiseSum(a, off + n2, n - n2);
        }
    }

    /** numpy's pairwise_sum for float64. */
    public static double pairwiseSum(double[] a, int off, int n) {
        if (n < 8) {
            double res = 0.0;
            for (int i = 0; i < n; i++) res += a[off + i];
            return res;
        } else if (n <= 128) {
            double r0 = a[off], r1 = a[off + 1], r2 = a[off + 2], r3 = a[off + 3];
            double r4 = a[off + 4], r5 = a[off + 5], r6 = a[off + 6], r7 = a[off + 7];
            int i;
            for (i = 8; i < n - (n % 8); i += 8) {
                r0 += a[off + i]; r1 += a[off + i + 1]; r2 += a[off + i + 2]; r3 += a[off + i + 3];
                r4 += a[off + i + 4]; r5 += a[off + i + 5]; r6 += a[off + i + 6]; r7 += a[off + i + 7];
            }
            double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) res += a[off + i];
            return res;
        } else {
            int n2 = n / 2;
            n2 -= n2 % 8;
            return pairwiseSum(a, off, n2) + pairwiseSum(a, off + n2, n - n2);
        }
    }

    /** np.mean of a float64 array (NaN for an empty one, as numpy). */
    public static double mean(double[] a) {
        return pairwiseSum(a, 0, a.length) / a.length;
    }
}
