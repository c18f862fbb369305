package io.quals;

import io.quals.ort.Tensor;
import io.quals.search.StepFunction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Incremental decoding of n rows over one encoded source: the searches' step function.
 *
 * <p>Step 0 runs the decoder with no past and keeps the cross-attention KV it returns; every later step
 * reuses it and feeds only the self-attention KV, reordered by the rows' parents. Only the outputs a step
 * needs are fetched (logits and the decoder presents), which saves copying the cross KV every step.
 */
public final class DecoderState implements StepFunction {
    private final Engine e;
    private final Engine.EncoderOutput enc;
    private int n;
    private Map<String, Tensor> selfKv; // past input name -> (n, H, t, Dh)
    private Map<String, Tensor> crossKv = new LinkedHashMap<>();
    private final List<String> stepOutputs = new ArrayList<>();
    private final List<String> firstOutputs = new ArrayList<>();

    DecoderState(Engine e, Engine.EncoderOutput enc, int rows) {
        this.e = e;
        this.enc = enc;
        this.n = rows;
        firstOutputs.add("logits");
        stepOutputs.add("logits");
        for (int l = 0; l < e.layers; l++)
            for (String kv : new String[] {"key", "value"}) {
                firstOutputs.add(e.present(l, "decoder", kv));
                firstOutputs.add(e.present(l, "encoder", kv));
                stepOutputs.add(e.present(l, "decoder", kv));
            }
    }

    @Override
    public float[][] step(int[] tokens, int[] parents) {
        int rows = tokens.length;
        long[] ids = new long[rows];
        for (int i = 0; i < rows; i++) ids[i] = tokens[i];
        Tensor[] outs;
        List<String> names;
        if (selfKv == null) {
            names = firstOutputs;
            outs = e.runFull(enc, ids, rows, 1, names);
            for (int k = 0; k < names.size(); k++) {
                String name = names.get(k);
                for (int l = 0; l < e.layers; l++)
                    for (String kv : new String[] {"key", "value"})
                        if (name.equals(e.present(l, "encoder", kv))) crossKv.put(e.past(l, "encoder", kv), outs[k]);
            }
        } else {
            if (parents == null) throw new IllegalArgumentException("parents are required after the first step");
            if (rows != n) { // rows were pruned or added: the cross KV follows (all rows share one source)
                Map<String, Tensor> c = new LinkedHashMap<>();
                for (Map.Entry<String, Tensor> x : crossKv.entrySet()) c.put(x.getKey(), gather(x.getValue(), parents));
                crossKv = c;
            }
            Map<String, Tensor> feeds = new LinkedHashMap<>(crossKv);
            for (Map.Entry<String, Tensor> x : selfKv.entrySet()) feeds.put(x.getKey(), gather(x.getValue(), parents));
            feeds.put("input_ids", Tensor.of(ids, rows, 1));
            feeds.put("encoder_attention_mask", e.ones(rows, enc.length));
            if (e.merged) {
                feeds.put("encoder_hidden_states", Tensor.of(new float[rows * enc.dim], rows, 1, enc.dim));
                feeds.put(e.manifest.useCacheBranch, Tensor.of(new boolean[] {true}, 1));
            }
            feeds.keySet().retainAll(e.pastInputs);
            names = stepOutputs;
            outs = e.decoderPast().run(feeds, names);
        }
        Map<String, Tensor> next = new LinkedHashMap<>();
        Tensor logits = null;
        for (int k = 0; k < names.size(); k++) {
            String name = names.get(k);
            if (name.equals("logits")) logits = outs[k];
            for (int l = 0; l < e.layers; l++)
                for (String kv : new String[] {"key", "value"})
                    if (name.equals(e.present(l, "decoder", kv))) next.put(e.past(l, "decoder", kv), outs[k]);
        }
        selfKv = next;
        n = rows;
        // log-softmax of the last position of each row
        int t = logits.dim(1), vocab = logits.dim(2);
        float[] x = logits.floats();
        float[] tmp = new float[vocab];
        float[][] out = new float[rows][];
        for (int i = 0; i < rows; i++) {
            int off = (i * t + t - 1) * vocab;
            F32.logSoftmax(x, off, vocab, tmp);
            out[i] = java.util.Arrays.copyOfRange(x, off, off + vocab);
        }
        return out;
    }

    /** Rows of a (n, ...) tensor picked by index: row i of the result is row parents[i] of src. */
    private static Tensor gather(Tensor src, int[] parents) {
        float[] a = src.floats();
        int rowSize = src.dim(0) == 0 ? 0 : a.length / src.dim(0);
        boolean identity = parents.length == src.dim(0);
        for (int i = 0; identity && i < parents.length; i++) identity = parents[i] == i;
        if (identity) return src;
        float[] b = new float[parents.length * rowSize];
        for (int i = 0; i < parents.length; i++) System.arraycopy(a, parents[i] * rowSize, b, i * rowSize, rowSize);
        long[] shape = src.shape.clone();
        shape[0] = parents.length;
        return Tensor.of(b, shape);
    }
}
