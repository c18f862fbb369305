package io.quals.tokenizer;

import io.quals.json.Json;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Byte-pair encoding as HF applies it: characters to ids, then merges by rank (leftmost among equal ranks). */
final class BpeModel implements Model {
    private final Map<String, Integer> vocab = new HashMap<>();
    private final String[] tokens;
    private final Map<Long, int[]> merges = new HashMap<>(); // (left id, right id) -> {rank, merged id}
    private final Integer unkId;
    private final boolean fuseUnk, ignoreMerges;

    BpeModel(Map<String, Object> d) {
        Map<String, Object> v = Model.vocab(d);
        for (Map.Entry<String, Object> e : v.entrySet()) vocab.put(e.getKey(), ((Number) e.getValue()).intValue());
        tokens = Model.invert(v);
        for (String opt : new String[] {"continuing_subword_prefix", "end_of_word_suffix", "dropout"})
            if (d.get(opt) != null) throw new UnsupportedComponentException("BPE option", opt);
        if (Boolean.TRUE.equals(d.get("byte_fallback"))) throw new UnsupportedComponentException("BPE option", "byte_fallback");
        String unk = (String) d.get("unk_token");
        unkId = unk == null ? null : vocab.get(unk);
        fuseUnk = Boolean.TRUE.equals(d.get("fuse_unk"));
        ignoreMerges = Boolean.TRUE.equals(d.get("ignore_merges"));
        List<Object> ms = Json.arr(d.get("merges"));
        for (int rank = 0; rank < ms.size(); rank++) {
            Object m = ms.get(rank);
            String a, b;
            if (m instanceof String) { // older files: "left right"
                String s = (String) m;
                int sp = s.indexOf(' ');
                a = s.substring(0, sp);
                b = s.substring(sp + 1);
            } else {
                List<Object> pair = Json.arr(m);
                a = (String) pair.get(0);
                b = (String) pair.get(1);
            }
            Integer ia = vocab.get(a), ib = vocab.get(b), merged = vocab.get(a + b);
            if (ia == null || ib == null || merged == null)
                throw new IllegalArgumentException("BPE merge (" + a + ", " + b + ") uses tokens outside the vocabulary");
            merges.putIfAbsent(key(ia, ib), new int[] {rank, merged});
        }
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    @Override
    public void tokenize(String word, List<Integer> out) {
        if (ignoreMerges && vocab.containsKey(word)) {
            out.add(vocab.get(word));
            return;
        }
        List<Integer> syms = new ArrayList<>();
        boolean pendingUnk = false;
        for (int i = 0; i < word.length(); ) {
            int c = word.codePointAt(i);
            String ch = word.substring(i, i + Character.charCount(c));
            i += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                if (pendingUnk) { syms.add(unkId); pendingUnk = false; }
                syms.add(id);
            } else if (unkId != null) {
                if (pendingUnk && !fuseUnk) syms.add(unkId);
                pendingUnk = true;
            } // with no unk token an unknown character is dropped, as HF does
        }
        if (pendingUnk) syms.add(unkId);
        // Merge the lowest-ranked adjacent pair, leftmost first, until none applies.
        while (syms.size() > 1) {
            int bestRank = Integer.MAX_VALUE, bestPos = -1, bestId = -1;
            for (int p = 0; p + 1 < syms.size(); p++) {
                int[] m = merges.get(key(syms.get(p), syms.get(p + 1)));
                if (m != null && m[0] < bestRank) { bestRank = m[0]; bestPos = p; bestId = m[1]; }
            }
            if (bestPos < 0) break;
            syms.set(bestPos, bestId);
            syms.remove(bestPos + 1);
        }
        out.addAll(syms);
    }

    @Override
    public String idToToken(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }
}
