package io.quals.search;

import java.util.PriorityQueue;

/** Indices of the k largest values, descending, ties broken by the lower index (runtime/quals/search/base.py::top_k). */
final class TopK {
    private TopK() {}

    static int[] topK(float[] flat, int k) {
        k = Math.min(k, flat.length);
        return k <= 16 ? scan(flat, k) : heap(flat, k);
    }

    /** k passes, each taking the next value in (value desc, index asc) order: fastest for the usual k = 2. */
    private static int[] scan(float[] v, int k) {
        int[] out = new int[k];
        float prevV = Float.POSITIVE_INFINITY;
        int prevI = -1;
        int got = 0;
        for (; got < k; got++) {
            int best = -1;
            float bv = 0f;
            for (int i = 0; i < v.length; i++) {
                float x = v[i];
                if (x != x) continue; // NaN is never chosen
                boolean after = x < prevV || (x == prevV && i > prevI);
                if (!after) continue;
                if (best < 0 || x > bv) { best = i; bv = x; }
            }
            if (best < 0) break;
            out[got] = best;
            prevV = bv;
            prevI = best;
        }
        return got == k ? out : java.util.Arrays.copyOf(out, got);
    }

    private static int[] heap(float[] v, int k) {
        // min-heap on (value, -index): its head is the worst of the k best seen
        PriorityQueue<Integer> h = new PriorityQueue<>(k + 1, (a, b) -> {
            int c = Float.compare(v[a], v[b]);
            return c != 0 ? c : Integer.compare(b, a);
        });
        for (int i = 0; i < v.length; i++) {
            if (v[i] != v[i]) continue;
            if (h.size() < k) {
                h.add(i);
            } else {
                int w = h.peek();
                if (v[i] > v[w]) { h.poll(); h.add(i); } // equal values: the earlier index stays
            }
        }
        int[] out = new int[h.size()];
        for (int j = out.length - 1; j >= 0; j--) out[j] = h.poll();
        return out;
    }
}
