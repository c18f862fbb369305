package io.quals.tokenizer;

import java.text.Normalizer.Form;
import java.util.List;
import java.util.Map;

/** A tokenizer.json normalizer: text in, normalized text out (offsets are not needed here). */
interface Normalizer {
    String normalize(String s);

    static Normalizer fromJson(Map<String, Object> d) {
        String type = (String) d.get("type");
        switch (type) {
            case "BertNormalizer":
                return new BertNormalizer(d);
            case "NFC": return s -> java.text.Normalizer.normalize(s, Form.NFC);
            case "NFD": return s -> java.text.Normalizer.normalize(s, Form.NFD);
            case "NFKC": return s -> java.text.Normalizer.normalize(s, Form.NFKC);
            case "NFKD": return s -> java.text.Normalizer.normalize(s, Form.NFKD);
            case "Lowercase": return Unicode::lowercase;
            case "Sequence": {
                List<Object> parts = io.quals.json.Json.arr(d.get("normalizers"));
                Normalizer[] ns = new Normalizer[parts.size()];
                for (int i = 0; i < ns.length; i++) ns[i] = fromJson(io.quals.json.Json.obj(parts.get(i)));
                return s -> {
                    for (Normalizer n : ns) s = n.normalize(s);
                    return s;
                };
            }
            default:
                throw new UnsupportedComponentException("normalizer", type);
        }
    }

    /** HF BertNormalizer: clean text, pad CJK ideographs with spaces, strip accents, lowercase (in that order). */
    final class BertNormalizer implements Normalizer {
        private final boolean cleanText, chinese, stripAccents, lowercase;

        BertNormalizer(Map<String, Object> d) {
            cleanText = !Boolean.FALSE.equals(d.get("clean_text"));
            chinese = !Boolean.FALSE.equals(d.get("handle_chinese_chars"));
            lowercase = !Boolean.FALSE.equals(d.get("lowercase"));
            Object sa = d.get("strip_accents");
            stripAccents = sa == null ? lowercase : (Boolean) sa; // null follows lowercase, as in HF
        }

        @Override
        public String normalize(String s) {
            StringBuilder b = new StringBuilder(s.length() + 8);
            s.codePoints().forEach(c -> {
                if (cleanText) {
                    if (c == 0 || c == 0xFFFD || Unicode.isBertControl(c)) return;
                    if (Unicode.isBertWhitespace(c)) c = ' ';
                }
                if (chinese && Unicode.isChineseChar(c)) {
                    b.append(' ').appendCodePoint(c).append(' ');
                } else {
                    b.appendCodePoint(c);
                }
            });
            String out = b.toString();
            if (stripAccents) out = Unicode.stripAccents(out);
            if (lowercase) out = Unicode.lowercase(out);
            return out;
        }
    }
}
