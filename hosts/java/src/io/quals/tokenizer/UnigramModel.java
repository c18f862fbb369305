package io.quals.tokenizer;

import io.quals.json.Json;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece Unigram, as HF's encode_optimized: Viterbi over the vocabulary's log-probabilities (float64);
 * a character no piece covers costs min_score - 10 as unk, and consecutive unknowns fuse into one token.
 */
final class UnigramModel implements Model {
    private static final double UNK_PENALTY = 10.0;
    private final Map<String, Integer> ids = new HashMap<>();
    private final String[] pieces;
    private final double[] scores;
    private final Integer unkId;
    private final double minScore;
    private final int maxPieceChars; // longest piece, in UTF-16 units: bounds the candidate lengths tried

    UnigramModel(Map<String, Object> d) {
        if (Boolean.TRUE.equals(d.get("byte_fallback"))) throw new UnsupportedComponentException("Unigram option", "byte_fallback");
        List<Object> vocab = Json.arr(d.get("vocab"));
        pieces = new String[vocab.size()];
        scores = new double[vocab.size()];
        double min = Double.POSITIVE_INFINITY;
        int maxLen = 1;
        for (int i = 0; i < pieces.length; i++) {
            List<Object> e = Json.arr(vocab.get(i));
            pieces[i] = (String) e.get(0);
            scores[i] = ((Number) e.get(1)).doubleValue();
            ids.put(pieces[i], i); // a later duplicate wins, as HF's HashMap insert
            min = Math.min(min, scores[i]);
            maxLen = Math.max(maxLen, pieces[i].length());
        }
        minScore = min;
        maxPieceChars = maxLen;
        Object unk = d.get("unk_id");
        unkId = unk == null ? null : ((Number) unk).intValue();
    }

    @Override
    public void tokenize(String s, List<Integer> out) {
        if (s.isEmpty()) return;
        int n = s.length();
        double unkScore = minScore - UNK_PENALTY;
        double[] best = new double[n + 1];
        int[] from = new int[n + 1];
        int[] id = new int[n + 1];
        java.util.Arrays.fill(from, -1);
        for (int start = 0; start < n; ) {
            double here = best[start];
            int cpLen = Character.charCount(s.codePointAt(start));
            boolean single = false;
            // candidates by increasing length, as a trie's common-prefix search yields them
            for (int end = start + 1; end <= Math.min(n, start + maxPieceChars); end++) {
                if (end < n && Character.isLowSurrogate(s.charAt(end)) && Character.isHighSurrogate(s.charAt(end - 1))) continue;
                Integer t = ids.get(s.substring(start, end));
                if (t == null) continue;
                double cand = scores[t] + here;
                if (from[end] < 0 || cand > best[end]) { best[end] = cand; from[end] = start; id[end] = t; }
                if (end - start == cpLen) single = true;
            }
            if (!single) {
                if (unkId == null) throw new IllegalArgumentException("Unigram: unknown character and no unk_id");
                int end = start + cpLen;
                double cand = unkScore + here;
                if (from[end] < 0 || cand > best[end]) { best[end] = cand; from[end] = start; id[end] = unkId; }
            }
            start += cpLen;
        }
        // Backtrack; runs of unk nodes fuse into one token string.
        List<String> toks = new ArrayList<>();
        StringBuilder unk = null;
        for (int end = n; end > 0; ) {
            int start = from[end];
            String piece = s.substring(start, end);
            if (unkId != null && id[end] == unkId) {
                if (unk == null) unk = new StringBuilder();
                unk.insert(0, piece);
            } else {
                if (unk != null) { toks.add(unk.toString()); unk = null; }
                toks.add(piece);
            }
            end = start;
        }
        if (unk != null) toks.add(unk.toString());
        for (int i = toks.size() - 1; i >= 0; i--) {
            Integer t = ids.get(toks.get(i));
            out.add(t != null ? t : unkId);
        }
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < pieces.length ? pieces[id] : null;
    }
}
