package io.quals.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Splits text on added tokens, leftmost-longest (HF's Aho-Corasick match kind). */
final class AddedTokens {
    static final class Segment {
        final String text;
        final int id; // the added token's id, or -1 for ordinary text

        Segment(String text, int id) {
            this.text = text;
            this.id = id;
        }
    }

    private final Map<String, Integer> ids;
    private final int maxLen;

    AddedTokens(Map<String, Integer> ids) {
        this.ids = ids;
        int m = 0;
        for (String k : ids.keySet()) m = Math.max(m, k.length());
        maxLen = m;
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        if (ids.isEmpty()) {
            if (!text.isEmpty()) out.add(new Segment(text, -1));
            return out;
        }
        int last = 0;
        for (int i = 0; i < text.length(); ) {
            int found = -1;
            for (int len = Math.min(maxLen, text.length() - i); len >= 1; len--) {
                Integer id = ids.get(text.substring(i, i + len));
                if (id != null) { found = len; break; }
            }
            if (found > 0) {
                if (i > last) out.add(new Segment(text.substring(last, i), -1));
                String tok = text.substring(i, i + found);
                out.add(new Segment(tok, ids.get(tok)));
                i += found;
                last = i;
            } else {
                i++;
            }
        }
        if (last < text.length()) out.add(new Segment(text.substring(last), -1));
        return out;
    }
}
