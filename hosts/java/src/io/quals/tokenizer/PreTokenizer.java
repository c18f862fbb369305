package io.quals.tokenizer;

import io.quals.json.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A tokenizer.json pre-tokenizer: a normalized segment in, the pieces the model tokenizes out. */
interface PreTokenizer {
    /** first: whether this segment starts the input (Metaspace's "first" prepend scheme needs it). */
    List<String> split(String s, boolean first);

    static PreTokenizer fromJson(Map<String, Object> d) {
        String type = (String) d.get("type");
        switch (type) {
            case "BertPreTokenizer": return (s, first) -> bert(s);
            case "ByteLevel": return new ByteLevel(d);
            case "Metaspace": return new Metaspace(d);
            case "Sequence": {
                List<Object> parts = Json.arr(d.get("pretokenizers"));
                List<PreTokenizer> ps = new ArrayList<>();
                for (Object p : parts) ps.add(fromJson(Json.obj(p)));
                return (s, first) -> {
                    List<String> cur = List.of(s);
                    for (PreTokenizer p : ps) {
                        List<String> next = new ArrayList<>();
                        for (String piece : cur) next.addAll(p.split(piece, first));
                        cur = next;
                    }
                    return cur;
                };
            }
            default:
                throw new UnsupportedComponentException("pre-tokenizer", type);
        }
    }

    /** BertPreTokenizer: split on whitespace (dropped) and on punctuation (each mark its own piece). */
    static List<String> bert(String s) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        s.codePoints().forEach(c -> {
            if (Unicode.isWhitespace(c)) {
                if (cur.length() > 0) { out.add(cur.toString()); cur.setLength(0); }
            } else if (Unicode.isBertPunctuation(c)) {
                if (cur.length() > 0) { out.add(cur.toString()); cur.setLength(0); }
                out.add(new String(Character.toChars(c)));
            } else {
                cur.appendCodePoint(c);
            }
        });
        if (cur.length() > 0) out.add(cur.toString());
        return out;
    }

    /** GPT-2 byte-level: regex split, then every UTF-8 byte of a piece becomes one printable character. */
    final class ByteLevel implements PreTokenizer {
        // The GPT-2 pattern as HF writes it; \s must be Unicode White_Space, as in Oniguruma.
        static final Pattern GPT2 = Pattern.compile(
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
                Pattern.UNICODE_CHARACTER_CLASS);
        private final boolean addPrefixSpace, useRegex;

        ByteLevel(Map<String, Object> d) {
            addPrefixSpace = Boolean.TRUE.equals(d.get("add_prefix_space"));
            useRegex = !Boolean.FALSE.equals(d.get("use_regex"));
        }

        @Override
        public List<String> split(String s, boolean first) {
            if (addPrefixSpace && !s.startsWith(" ")) s = " " + s;
            List<String> pieces = new ArrayList<>();
            if (useRegex) {
                Matcher m = GPT2.matcher(s);
                int last = 0;
                while (m.find()) {
                    if (m.start() > last) pieces.add(s.substring(last, m.start()));
                    if (m.end() > m.start()) pieces.add(m.group());
                    last = m.end();
                }
                if (last < s.length()) pieces.add(s.substring(last));
            } else if (!s.isEmpty()) {
                pieces.add(s);
            }
            List<String> out = new ArrayList<>(pieces.size());
            for (String p : pieces) out.add(ByteAlphabet.encode(p.getBytes(StandardCharsets.UTF_8)));
            return out;
        }
    }

    /** SentencePiece-style: spaces become the replacement character, which starts every piece. */
    final class Metaspace implements PreTokenizer {
        private final int replacement;
        private final String rep;
        private final String scheme; // always | first | never
        private final boolean split;

        Metaspace(Map<String, Object> d) {
            rep = (String) d.getOrDefault("replacement", "\u2581");
            replacement = rep.codePointAt(0);
            if (d.containsKey("prepend_scheme")) scheme = (String) d.get("prepend_scheme");
            else scheme = Boolean.FALSE.equals(d.get("add_prefix_space")) ? "never" : "always"; // older files
            if (!scheme.equals("always") && !scheme.equals("first") && !scheme.equals("never"))
                throw new UnsupportedComponentException("Metaspace prepend_scheme", scheme);
            split = !Boolean.FALSE.equals(d.get("split"));
        }

        String scheme() {
            return scheme;
        }

        int replacement() {
            return replacement;
        }

        @Override
        public List<String> split(String s, boolean first) {
            s = s.replace(" ", rep);
            boolean prepend = scheme.equals("always") || (scheme.equals("first") && first);
            if (prepend && !s.isEmpty() && !s.startsWith(rep)) s = rep + s;
            List<String> out = new ArrayList<>();
            if (s.isEmpty()) return out;
            if (!split) {
                out.add(s);
                return out;
            }
            // MergedWithNext: each replacement character starts a new piece
            int start = 0;
            for (int i = 0; i < s.length(); ) {
                int c = s.codePointAt(i);
                if (c == replacement && i > start) {
                    out.add(s.substring(start, i));
                    start = i;
                }
                i += Character.charCount(c);
            }
            out.add(s.substring(start));
            return out;
        }
    }
}
