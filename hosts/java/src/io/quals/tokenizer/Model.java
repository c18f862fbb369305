package io.quals.tokenizer;

import io.quals.json.Json;
import java.util.List;
import java.util.Map;

/** A tokenizer.json model: one pre-tokenized piece in, token ids out; and the id -> token table. */
interface Model {
    void tokenize(String piece, List<Integer> out);

    /** The token string of an id, or null when the id is not in the vocabulary. */
    String idToToken(int id);

    static Model fromJson(Map<String, Object> d) {
        String type = (String) d.get("type");
        if (type == null) throw new UnsupportedComponentException("model", "(no type)");
        switch (type) {
            case "WordPiece": return new WordPieceModel(d);
            case "BPE": return new BpeModel(d);
            case "Unigram": return new UnigramModel(d);
            default: throw new UnsupportedComponentException("model", type);
        }
    }

    static String[] invert(Map<String, Object> vocab) {
        int max = -1;
        for (Object v : vocab.values()) max = Math.max(max, ((Number) v).intValue());
        String[] out = new String[max + 1];
        for (Map.Entry<String, Object> e : vocab.entrySet()) out[((Number) e.getValue()).intValue()] = e.getKey();
        return out;
    }

    static Map<String, Object> vocab(Map<String, Object> d) {
        return Json.obj(d.get("vocab"));
    }
}
