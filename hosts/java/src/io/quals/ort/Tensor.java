package io.quals.ort;

import java.util.Arrays;

/** A dense row-major tensor over a Java primitive array: float[] (FLOAT), long[] (INT64) or boolean[] (BOOL). */
public final class Tensor {
    public final long[] shape;
    public final Object data;

    private Tensor(Object data, long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        int len = java.lang.reflect.Array.getLength(data);
        if (n != len) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n + " elements, got " + len);
        this.data = data;
        this.shape = shape;
    }

    public static Tensor of(float[] data, long... shape) {
        return new Tensor(data, shape);
    }

    public static Tensor of(long[] data, long... shape) {
        return new Tensor(data, shape);
    }

    public static Tensor of(boolean[] data, long... shape) {
        return new Tensor(data, shape);
    }

    /** Wraps an array a backend produced (float[], long[] or boolean[]). */
    public static Tensor wrap(Object data, long[] shape) {
        if (!(data instanceof float[] || data instanceof long[] || data instanceof boolean[]))
            throw new IllegalArgumentException("unsupported tensor data " + data.getClass());
        return new Tensor(data, shape);
    }

    public float[] floats() {
        return (float[]) data;
    }

    public long[] longs() {
        return (long[]) data;
    }

    public int dim(int i) {
        return (int) shape[i];
    }

    @Override
    public String toString() {
        return data.getClass().getSimpleName() + Arrays.toString(shape);
    }
}
