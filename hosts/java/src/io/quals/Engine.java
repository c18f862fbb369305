package io.quals;

import io.quals.ort.OrtBackend;
import io.quals.ort.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The ONNX sessions and the two decoder passes QUALS needs (runtime/quals/engine.py): the incremental step with
 * the KV cache for the searches ({@link DecoderState}) and teacher-forced per-token log-probs for rescoring.
 * Works with Optimum's merged decoder (use_cache_branch) or the split pair.
 */
public final class Engine implements AutoCloseable {
    final Manifest manifest;
    final int layers, heads, headDim;
    final boolean merged;
    private final OrtBackend.Session encoder, decoder, decoderPast; // decoderPast == decoder when merged
    final Set<String> decInputs, pastInputs;
    final List<String> decOutputs, pastOutputs;

    public Engine(Bundle bundle, OrtBackend backend, int threads) {
        manifest = bundle.manifest;
        layers = manifest.numLayers;
        heads = manifest.numHeads;
        headDim = manifest.headDim;
        merged = manifest.mergedDecoder();
        List<OrtBackend.Session> opened = new ArrayList<>();
        try {
            encoder = open(backend, bundle, "encoder", threads, opened);
            decoder = open(backend, bundle, merged ? "decoder_merged" : "decoder", threads, opened);
            decoderPast = merged ? decoder : open(backend, bundle, "decoder_with_past", threads, opened);
        } catch (RuntimeException e) {
            for (OrtBackend.Session s : opened) s.close();
            throw e;
        }
        decInputs = new HashSet<>(decoder.inputNames());
        pastInputs = new HashSet<>(decoderPast.inputNames());
        decOutputs = decoder.outputNames();
        pastOutputs = decoderPast.outputNames();
    }

    private static OrtBackend.Session open(OrtBackend backend, Bundle bundle, String role, int threads,
                                           List<OrtBackend.Session> opened) {
        OrtBackend.Session s = backend.createSession(bundle.file(role), threads);
        opened.add(s);
        return s;
    }

    String past(int layer, String side, String kv) {
        return Manifest.name(manifest.pastInput, layer, side, kv);
    }

    String present(int layer, String side, String kv) {
        return Manifest.name(manifest.presentOutput, layer, side, kv);
    }

    /** One encoded source: hidden states (1, S, d). */
    public static final class EncoderOutput {
        final float[] hidden;
        final int length, dim;

        EncoderOutput(float[] hidden, int length, int dim) {
            this.hidden = hidden;
            this.length = length;
            this.dim = dim;
        }
    }

    public EncoderOutput encode(int[] ids) {
        long[] in = new long[ids.length], mask = new long[ids.length];
        for (int i = 0; i < ids.length; i++) { in[i] = ids[i]; mask[i] = 1; }
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        feeds.put("input_ids", Tensor.of(in, 1, ids.length));
        feeds.put("attention_mask", Tensor.of(mask, 1, ids.length));
        Tensor h = encoder.run(feeds, List.of("last_hidden_state"))[0];
        return new EncoderOutput(h.floats(), h.dim(1), h.dim(2));
    }

    Tensor ones(int n, int s) {
        long[] m = new long[n * s];
        Arrays.fill(m, 1L);
        return Tensor.of(m, n, s);
    }

    /** Decoder over whole prefixes (n, T) with no past; returns the requested outputs. */
    Tensor[] runFull(EncoderOutput enc, long[] inputIds, int n, int width, List<String> outputs) {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        feeds.put("input_ids", Tensor.of(inputIds, n, width));
        float[] hidden = new float[n * enc.hidden.length];
        for (int i = 0; i < n; i++) System.arraycopy(enc.hidden, 0, hidden, i * enc.hidden.length, enc.hidden.length);
        feeds.put("encoder_hidden_states", Tensor.of(hidden, n, enc.length, enc.dim));
        feeds.put("encoder_attention_mask", ones(n, enc.length));
        if (merged) {
            Tensor empty = Tensor.of(new float[0], n, heads, 0, headDim);
            for (int l = 0; l < layers; l++)
                for (String side : new String[] {"decoder", "encoder"})
                    for (String kv : new String[] {"key", "value"}) feeds.put(past(l, side, kv), empty);
            feeds.put(manifest.useCacheBranch, Tensor.of(new boolean[] {false}, 1));
        }
        feeds.keySet().retainAll(decInputs);
        return decoder.run(feeds, outputs);
    }

    /** Logits per teacher-forcing call at most (32 MB of float32), as the Python runtime's LOGITS_BUDGET. */
    static final long LOGITS_BUDGET = 8L << 20;

    /**
     * Per-token log p(target_t | target_<t, source) for each target (one record's pairs only). Rows go into
     * calls exactly as in docs/hosts.md, since an int8 bundle's numbers depend on a call's rows: chunks of
     * R = max(1, min(maxRows, 8M / (W x vocab))) targets, W the longest target, each chunk right-padded to
     * its own longest. The decoder input is [decoder_start] + target[:-1] (padding is safe: causal decoder).
     */
    public List<double[]> teacherForced(EncoderOutput enc, List<int[]> targets, int maxRows) {
        List<double[]> out = new ArrayList<>();
        if (targets.isEmpty()) return out;
        int start = manifest.decoderStart, pad = manifest.pad;
        int longest = 0;
        for (int[] t : targets) longest = Math.max(longest, t.length);
        int rows = (int) Math.max(1, Math.min(maxRows, LOGITS_BUDGET / ((long) longest * manifest.vocabSize)));
        for (int lo = 0; lo < targets.size(); lo += rows) {
            List<int[]> chunk = targets.subList(lo, Math.min(targets.size(), lo + rows));
            int n = chunk.size(), width = 0;
            for (int[] t : chunk) width = Math.max(width, t.length);
            long[] inp = new long[n * width];
            Arrays.fill(inp, pad);
            for (int i = 0; i < n; i++) {
                int[] t = chunk.get(i);
                for (int j = 0; j < t.length; j++) inp[i * width + j] = j == 0 ? start : t[j - 1];
            }
            Tensor logits = runFull(enc, inp, n, width, List.of("logits"))[0];
            float[] x = logits.floats();
            int vocab = logits.dim(2);
            float[] tmp = new float[vocab];
            for (int i = 0; i < n; i++) {
                int[] t = chunk.get(i);
                double[] lp = new double[t.length];
                for (int j = 0; j < t.length; j++) {
                    int off = (i * width + j) * vocab;
                    F32.logSoftmax(x, off, vocab, tmp);
                    lp[j] = x[off + t[j]];
                }
                out.add(lp);
            }
        }
        return out;
    }

    public DecoderState start(EncoderOutput enc, int rows) {
        return new DecoderState(this, enc, rows);
    }

    OrtBackend.Session decoderPast() {
        return decoderPast;
    }

    @Override
    public void close() {
        encoder.close();
        decoder.close();
        if (decoderPast != decoder) decoderPast.close();
    }
}
