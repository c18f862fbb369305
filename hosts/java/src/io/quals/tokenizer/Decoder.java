package io.quals.tokenizer;

import io.quals.json.Json;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A tokenizer.json decoder: token strings in, text out (HF's decode_chain, then concatenation). */
interface Decoder {
    List<String> decodeChain(List<String> tokens);

    static Decoder fromJson(Map<String, Object> d) {
        if (d == null) return null;
        String type = (String) d.get("type");
        switch (type) {
            case "WordPiece": return new WordPiece(d);
            case "ByteLevel": return Decoder::byteLevel;
            case "Metaspace": return new Metaspace(new PreTokenizer.Metaspace(d));
            case "Sequence": {
                List<Decoder> ds = new ArrayList<>();
                for (Object x : Json.arr(d.get("decoders"))) ds.add(fromJson(Json.obj(x)));
                return tokens -> {
                    for (Decoder x : ds) tokens = x.decodeChain(tokens);
                    return tokens;
                };
            }
            default: throw new UnsupportedComponentException("decoder", type);
        }
    }

    /** Byte-level: all tokens' characters back to bytes, then UTF-8 with replacement of invalid sequences. */
    static List<String> byteLevel(List<String> tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (String t : tokens) {
            if (!ByteAlphabet.decode(t, bytes)) { // a token outside the alphabet is taken as its own UTF-8
                byte[] raw = t.getBytes(StandardCharsets.UTF_8);
                bytes.write(raw, 0, raw.length);
            }
        }
        return List.of(utf8Lossy(bytes.toByteArray()));
    }

    /**
     * Rust's String::from_utf8_lossy: each maximal prefix of a valid sequence that cannot be completed becomes
     * one U+FFFD (Java's decoder groups some invalid bytes differently).
     */
    static String utf8Lossy(byte[] b) {
        StringBuilder out = new StringBuilder(b.length);
        int n = b.length;
        for (int i = 0; i < n; ) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) { out.append((char) b0); i++; continue; }
            int width = b0 >= 0xC2 && b0 <= 0xDF ? 2 : b0 >= 0xE0 && b0 <= 0xEF ? 3 : b0 >= 0xF0 && b0 <= 0xF4 ? 4 : 0;
            if (width == 0) { out.append('\uFFFD'); i++; continue; }
            int lo = b0 == 0xE0 ? 0xA0 : b0 == 0xF0 ? 0x90 : 0x80;
            int hi = b0 == 0xED ? 0x9F : b0 == 0xF4 ? 0x8F : 0xBF;
            int cp = b0 & (0xFF >> (width + 1));
            int k = 1;
            for (; k < width; k++) {
                if (i + k >= n) break;
                int bk = b[i + k] & 0xFF;
                if (bk < (k == 1 ? lo : 0x80) || bk > (k == 1 ? hi : 0xBF)) break;
                cp = (cp << 6) | (bk & 0x3F);
            }
            if (k == width) out.appendCodePoint(cp);
            else out.append('\uFFFD');
            i += k;
        }
        return out.toString();
    }

    /** WordPiece: "##" pieces glue to the previous token, others get a space; optional cleanup of spaces. */
    final class WordPiece implements Decoder {
        private final String prefix;
        private final boolean cleanup;

        WordPiece(Map<String, Object> d) {
            prefix = (String) d.getOrDefault("prefix", "##");
            cleanup = !Boolean.FALSE.equals(d.get("cleanup"));
        }

        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                String t = tokens.get(i);
                if (i != 0) t = t.startsWith(prefix) ? t.substring(prefix.length()) : " " + t;
                out.add(cleanup ? cleanup(t) : t);
            }
            return out;
        }

        static String cleanup(String s) {
            return s.replace(" .", ".").replace(" ?", "?").replace(" !", "!").replace(" ,", ",").replace(" ' ", "'")
                    .replace(" n't", "n't").replace(" 'm", "'m").replace(" do not", " don't").replace(" 's", "'s")
                    .replace(" 've", "'ve").replace(" 're", "'re");
        }
    }

    /** Metaspace: the replacement character becomes a space; in the first token it is dropped (unless "never"). */
    final class Metaspace implements Decoder {
        private final PreTokenizer.Metaspace m;

        Metaspace(PreTokenizer.Metaspace m) {
            this.m = m;
        }

        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                StringBuilder b = new StringBuilder();
                boolean first = i == 0 && !m.scheme().equals("never");
                tokens.get(i).codePoints().forEach(c -> {
                    if (c == m.replacement()) {
                        if (!first) b.append(' ');
                    } else {
                        b.appendCodePoint(c);
                    }
                });
                out.add(b.toString());
            }
            return out;
        }
    }
}
