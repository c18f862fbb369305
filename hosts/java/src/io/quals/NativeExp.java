package io.quals;

/**
 * expf over an array from the JNI glue's vectorised kernel (native/quals_fast_exp.c), or
 * {@code (float) Math.exp} when the glue is not loaded (e.g. with the official ONNX Runtime jar backend).
 * Both are within an ulp or two of numpy's float32 exp; only the log-sum-exp of each row depends on them.
 */
final class NativeExp {
    private static final boolean AVAILABLE = probe();

    private NativeExp() {}

    private static native void nExp(float[] x, int off, int len, float[] out);

    private static boolean probe() {
        try {
            float[] y = new float[1];
            nExp(new float[] {0f}, 0, 1, y);
            return y[0] == 1f;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    /** out[j] = exp(x[off + j]) for j < len. */
    static void exp(float[] x, int off, int len, float[] out) {
        if (AVAILABLE) {
            nExp(x, off, len, out);
        } else {
            for (int j = 0; j < len; j++) out[j] = (float) Math.exp(x[off + j]);
        }
    }
}
