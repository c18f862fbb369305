package io.quals.tokenizer;

import io.quals.json.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A HuggingFace tokenizer.json, reimplemented for the families quals bundles use: WordPiece (BERT normalizer
 * and pre-tokenizer), byte-level BPE (GPT-2) and Unigram (NFKC + Metaspace).
 *
 * <p>{@link #encode} is {@code tokenizer.encode(text, add_special_tokens=False).ids}: added tokens found
 * literally in the text become their ids first, the rest is normalized, pre-tokenized and tokenized by the
 * model. The post-processor is ignored on purpose (the bundle's manifest says which special tokens to add).
 * {@link #decode} is {@code tokenizer.decode(ids, skip_special_tokens=True)}. Any component this class
 * does not implement is refused at load, naming it.
 */
public final class Tokenizer {
    private final Normalizer normalizer; // may be null
    private final PreTokenizer preTokenizer; // may be null
    private final Model model;
    private final Decoder decoder; // may be null
    private final AddedTokens raw, normalized; // matched before / after normalization
    private final Map<Integer, String> addedById = new HashMap<>();
    private final java.util.Set<Integer> specialIds = new java.util.HashSet<>();

    private Tokenizer(Map<String, Object> d) {
        for (String k : new String[] {"truncation", "padding"})
            if (d.get(k) != null) throw new UnsupportedComponentException("setting", k + " (must be null)");
        normalizer = d.get("normalizer") == null ? null : Normalizer.fromJson(Json.obj(d.get("normalizer")));
        preTokenizer = d.get("pre_tokenizer") == null ? null : PreTokenizer.fromJson(Json.obj(d.get("pre_tokenizer")));
        model = Model.fromJson(Json.obj(d.get("model")));
        decoder = d.get("decoder") == null ? null : Decoder.fromJson(Json.obj(d.get("decoder")));
        List<String[]> rawTokens = new ArrayList<>(), normTokens = new ArrayList<>();
        Map<String, Integer> rawIds = new HashMap<>(), normIds = new HashMap<>();
        for (Object o : d.get("added_tokens") == null ? List.of() : Json.arr(d.get("added_tokens"))) {
            Map<String, Object> t = Json.obj(o);
            String content = (String) t.get("content");
            int id = ((Number) t.get("id")).intValue();
            for (String opt : new String[] {"single_word", "lstrip", "rstrip"})
                if (Boolean.TRUE.equals(t.get(opt)))
                    throw new UnsupportedComponentException("added-token option", opt + " (token " + content + ")");
            addedById.put(id, content);
            if (Boolean.TRUE.equals(t.get("special"))) specialIds.add(id);
            if (Boolean.TRUE.equals(t.get("normalized"))) {
                String n = normalizer == null ? content : normalizer.normalize(content);
                normIds.put(n, id);
            } else {
                rawIds.put(content, id);
            }
        }
        raw = new AddedTokens(rawIds);
        normalized = new AddedTokens(normIds);
    }

    public static Tokenizer load(Path path) throws IOException {
        return fromJson(Json.parse(Files.readString(path, StandardCharsets.UTF_8)));
    }

    public static Tokenizer fromJson(Object doc) {
        return new Tokenizer(Json.obj(doc));
    }

    /** {@code encode(text, add_special_tokens=False).ids}. */
    public int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        boolean first = true;
        for (AddedTokens.Segment seg : raw.split(text)) {
            if (seg.id >= 0) {
                out.add(seg.id);
            } else {
                String n = normalizer == null ? seg.text : normalizer.normalize(seg.text);
                for (AddedTokens.Segment s2 : normalized.split(n)) {
                    if (s2.id >= 0) out.add(s2.id);
                    else tokenizeNormalized(s2.text, first, out);
                    first = false;
                }
            }
            first = false;
        }
        int[] ids = new int[out.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = out.get(i);
        return ids;
    }

    private void tokenizeNormalized(String s, boolean first, List<Integer> out) {
        if (s.isEmpty()) return;
        List<String> pieces = preTokenizer == null ? List.of(s) : preTokenizer.split(s, first);
        for (String p : pieces) if (!p.isEmpty()) model.tokenize(p, out);
    }

    /** {@code decode(ids, skip_special_tokens=True)}. */
    public String decode(int[] ids) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            String t = addedById.containsKey(id) ? addedById.get(id) : model.idToToken(id);
            if (t == null || specialIds.contains(id)) continue; // unknown ids are skipped, as HF does
            tokens.add(t);
        }
        if (decoder == null) return String.join(" ", tokens);
        return String.join("", decoder.decodeChain(tokens));
    }
}
