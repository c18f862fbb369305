package io.quals;

import io.quals.QualsException.OptionsException;
import io.quals.search.SearchOptions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Everything that changes the number besides the bundle (runtime/quals/options.py::QualsOptions), with the
 * manifest's defaults applied as runtime/quals/options.py::default_options does: the manifest's search_defaults
 * block for the chosen search, then score_defaults, then the overrides (Python option names).
 */
public final class QualsOptions {
    public static final Set<String> SEARCH_FIELDS = Set.of("search", "num_beams", "num_groups", "diversity", "min_length",
            "max_length", "length_penalty", "num_return", "early_stopping");
    public static final Set<String> OPTION_FIELDS = Set.of("variant", "max_pairs", "max_source_tokens", "rescore_rows");

    public final SearchOptions search;
    public final String variant;
    public final int maxPairs;
    public final Integer maxSourceTokens; // null: the manifest's limit
    public final int rescoreRows;

    private QualsOptions(SearchOptions search, String variant, int maxPairs, Integer maxSourceTokens, int rescoreRows) {
        this.search = search;
        this.variant = variant;
        this.maxPairs = maxPairs;
        this.maxSourceTokens = maxSourceTokens;
        this.rescoreRows = rescoreRows;
        if (!variant.equals("paper") && !variant.equals("clean") && !variant.equals("ans_lm"))
            throw new OptionsException("unknown variant '" + variant + "'; choose one of paper, clean, ans_lm");
        if (maxPairs < 1) throw new OptionsException("max_pairs must be >= 1");
        if (maxSourceTokens != null && maxSourceTokens < 1) throw new OptionsException("max_source_tokens must be >= 1");
        if (rescoreRows < 1) throw new OptionsException("rescore_rows must be >= 1");
    }

    /** The manifest's defaults with overrides (keys as in Python: num_beams, variant, ...; null values are ignored). */
    public static QualsOptions defaults(Manifest m, Map<String, ?> overrides) {
        for (String k : overrides.keySet())
            if (!SEARCH_FIELDS.contains(k) && !OPTION_FIELDS.contains(k))
                throw new OptionsException("unknown option: " + k);
        Map<String, Object> merged = new LinkedHashMap<>();
        Object name = overrides.get("search");
        if (name == null) name = m.searchDefaults.getOrDefault("search", "hf");
        Object block = m.searchDefaults.get(name);
        if (block instanceof Map) {
            merged.putAll(io.quals.json.Json.obj(block));
        } else {
            for (Map.Entry<String, Object> e : m.searchDefaults.entrySet())
                if (!(e.getValue() instanceof Map)) merged.put(e.getKey(), e.getValue());
        }
        merged.keySet().retainAll(SEARCH_FIELDS);
        merged.put("search", name);
        for (Map.Entry<String, Object> e : m.scoreDefaults.entrySet())
            if (OPTION_FIELDS.contains(e.getKey())) merged.put(e.getKey(), e.getValue());
        for (Map.Entry<String, ?> e : overrides.entrySet()) if (e.getValue() != null) merged.put(e.getKey(), e.getValue());
        try {
            Object es = merged.getOrDefault("early_stopping", false);
            SearchOptions s = new SearchOptions((String) merged.get("search"), i(merged, "num_beams", 4),
                    i(merged, "num_groups", 1), d(merged, "diversity", 0.0), i(merged, "min_length", 0),
                    i(merged, "max_length", 20), d(merged, "length_penalty", 1.0),
                    merged.get("num_return") == null ? null : i(merged, "num_return", 0), String.valueOf(es).toLowerCase());
            return new QualsOptions(s, (String) merged.getOrDefault("variant", "paper"), i(merged, "max_pairs", 10),
                    merged.get("max_source_tokens") == null ? null : i(merged, "max_source_tokens", 0),
                    i(merged, "rescore_rows", 64));
        } catch (ClassCastException | NumberFormatException e) {
            throw new OptionsException("bad option value (" + e.getMessage() + ")");
        }
    }

    private static int i(Map<String, Object> m, String k, int dflt) {
        Object v = m.get(k);
        if (v == null) return dflt;
        if (v instanceof String) return Integer.parseInt((String) v);
        return ((Number) v).intValue();
    }

    private static double d(Map<String, Object> m, String k, double dflt) {
        Object v = m.get(k);
        if (v == null) return dflt;
        if (v instanceof String) return Double.parseDouble((String) v);
        return ((Number) v).doubleValue();
    }

    /** The source-token limit in force. */
    public int sourceLimit(Manifest m) {
        return maxSourceTokens != null ? maxSourceTokens : m.maxSourceTokens;
    }
}
