package io.quals.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** BERT's WordPiece: greedy longest match first; continuation pieces carry a prefix ("##"). */
final class WordPieceModel implements Model {
    private final Map<String, Integer> vocab = new HashMap<>();
    private final String[] tokens;
    private final String prefix;
    private final int unkId, maxChars;

    WordPieceModel(Map<String, Object> d) {
        Map<String, Object> v = Model.vocab(d);
        for (Map.Entry<String, Object> e : v.entrySet()) vocab.put(e.getKey(), ((Number) e.getValue()).intValue());
        tokens = Model.invert(v);
        prefix = (String) d.getOrDefault("continuing_subword_prefix", "##");
        String unk = (String) d.getOrDefault("unk_token", "[UNK]");
        if (!vocab.containsKey(unk)) throw new IllegalArgumentException("WordPiece unk_token " + unk + " is not in the vocabulary");
        unkId = vocab.get(unk);
        maxChars = ((Number) d.getOrDefault("max_input_chars_per_word", 100L)).intValue();
    }

    @Override
    public void tokenize(String word, List<Integer> out) {
        if (word.codePointCount(0, word.length()) > maxChars) {
            out.add(unkId);
            return;
        }
        int mark = out.size();
        int start = 0;
        while (start < word.length()) {
            int end = word.length();
            Integer found = null;
            while (start < end) {
                String sub = word.substring(start, end);
                if (start > 0) sub = prefix + sub;
                found = vocab.get(sub);
                if (found != null) break;
                end = word.offsetByCodePoints(end, -1);
            }
            if (found == null) { // one piece that cannot be matched makes the whole word unknown
                out.subList(mark, out.size()).clear();
                out.add(unkId);
                return;
            }
            out.add(found);
            start = end;
        }
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }
}
