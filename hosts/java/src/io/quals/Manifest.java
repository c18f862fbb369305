package io.quals;

import io.quals.QualsException.BundleException;
import io.quals.json.Json;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** quals.json, the bundle manifest (format_version 1), as runtime/quals/bundle.py reads it. */
public final class Manifest {
    public static final String NAME = "quals.json";
    public static final String FORMAT = "quals-bundle";
    public static final int FORMAT_VERSION = 1;

    public final String family;
    public final String modelType;
    public final Map<String, String> files; // role -> file name
    public final Map<String, String> sha256; // file name -> hex digest
    // special tokens (bos/unk may be absent: null)
    public final int pad, eos, decoderStart;
    public final Integer bos, unk;
    public final int separatorId;
    public final String separatorText;
    // encoding rules
    public final boolean prependBos, appendEos;
    public final int maxSourceTokens;
    // ONNX layout
    public final int numLayers, numHeads, headDim, hiddenSize, vocabSize;
    public final String pastInput, presentOutput, useCacheBranch;
    public final Map<String, Object> searchDefaults, scoreDefaults;
    public final int[] ansLmIgnoreIds;

    private Manifest(Map<String, Object> d) {
        family = str(d, "family");
        modelType = str(d, "model_type");
        files = strings(Json.obj(req(d, "files")));
        sha256 = strings(Json.obj(req(d, "sha256")));
        Map<String, Object> t = Json.obj(req(d, "tokens"));
        pad = intv(t, "pad");
        eos = intv(t, "eos");
        decoderStart = intv(t, "decoder_start");
        bos = t.get("bos") == null ? null : intv(t, "bos");
        unk = t.get("unk") == null ? null : intv(t, "unk");
        Map<String, Object> sep = Json.obj(req(d, "separator"));
        separatorId = intv(sep, "id");
        separatorText = str(sep, "text");
        Map<String, Object> enc = Json.obj(req(d, "encoding"));
        prependBos = (Boolean) req(enc, "prepend_bos");
        appendEos = (Boolean) req(enc, "append_eos");
        maxSourceTokens = intv(enc, "max_source_tokens");
        Map<String, Object> onnx = Json.obj(req(d, "onnx"));
        numLayers = intv(onnx, "num_layers");
        numHeads = intv(onnx, "num_heads");
        headDim = intv(onnx, "head_dim");
        hiddenSize = intv(onnx, "hidden_size");
        vocabSize = intv(onnx, "vocab_size");
        pastInput = (String) onnx.getOrDefault("past_input", "past_key_values.{layer}.{side}.{kv}");
        presentOutput = (String) onnx.getOrDefault("present_output", "present.{layer}.{side}.{kv}");
        useCacheBranch = (String) onnx.getOrDefault("use_cache_branch", "use_cache_branch");
        searchDefaults = d.containsKey("search_defaults") ? Json.obj(d.get("search_defaults")) : Map.of();
        scoreDefaults = d.containsKey("score_defaults") ? Json.obj(d.get("score_defaults")) : Map.of();
        ansLmIgnoreIds = d.containsKey("ans_lm_ignore_ids") ? Json.ints(d.get("ans_lm_ignore_ids")) : new int[0];
    }

    /** Parses and validates a manifest document (format and version first, as the Python runtime). */
    public static Manifest fromJson(Object doc) {
        Map<String, Object> d;
        try {
            d = Json.obj(doc);
        } catch (IllegalArgumentException e) {
            throw new BundleException(NAME + ": not a JSON object");
        }
        if (!FORMAT.equals(d.get("format")))
            throw new BundleException(NAME + ": not a quals bundle manifest (format=" + d.get("format") + ")");
        Object v = d.get("format_version");
        if (!(v instanceof Long) || (Long) v != FORMAT_VERSION)
            throw new BundleException(NAME + ": format_version " + v + " is not supported by this quals host (it reads version "
                    + FORMAT_VERSION + "); re-export the model or upgrade the host");
        try {
            return new Manifest(d);
        } catch (RuntimeException e) {
            throw new BundleException(NAME + ": malformed manifest (" + e.getMessage() + ")", e);
        }
    }

    public boolean mergedDecoder() {
        return files.containsKey("decoder_merged");
    }

    /** The ONNX name of a past/present tensor, from the manifest's pattern. */
    public static String name(String pattern, int layer, String side, String kv) {
        return pattern.replace("{layer}", Integer.toString(layer)).replace("{side}", side).replace("{kv}", kv);
    }

    private static Object req(Map<String, Object> d, String k) {
        if (!d.containsKey(k) || d.get(k) == null) throw new IllegalArgumentException("missing '" + k + "'");
        return d.get(k);
    }

    private static String str(Map<String, Object> d, String k) {
        return (String) req(d, k);
    }

    private static int intv(Map<String, Object> d, String k) {
        Object v = req(d, k);
        if (!(v instanceof Long)) throw new IllegalArgumentException("'" + k + "' must be an integer");
        return ((Long) v).intValue();
    }

    private static Map<String, String> strings(Map<String, Object> m) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : m.entrySet()) out.put(e.getKey(), (String) e.getValue());
        return Collections.unmodifiableMap(out);
    }
}
