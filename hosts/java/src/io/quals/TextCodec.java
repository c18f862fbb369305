package io.quals;

import io.quals.tokenizer.Tokenizer;

/**
 * Text to encoder input ids by the manifest's rules, never the tokenizer's post-processor (runtime/quals/text.py):
 * the first max_source_tokens text tokens, with BOS/EOS added as the manifest says.
 */
public final class TextCodec {
    public final Tokenizer tokenizer;
    private final Manifest m;

    /** Encoder input ids (special tokens included), the text's token count before truncation, and whether it was cut. */
    public static final class Encoded {
        public final int[] ids;
        public final int nTextTokens;
        public final boolean truncated;

        Encoded(int[] ids, int nTextTokens, boolean truncated) {
            this.ids = ids;
            this.nTextTokens = nTextTokens;
            this.truncated = truncated;
        }
    }

    TextCodec(Tokenizer tokenizer, Manifest m) {
        this.tokenizer = tokenizer;
        this.m = m;
    }

    public int[] textIds(String text) {
        return tokenizer.encode(text);
    }

    /** Encodes already stripped text, keeping its first limit text tokens. */
    public Encoded encode(String text, int limit) {
        int[] ids = textIds(text);
        int kept = Math.min(limit, ids.length);
        boolean bos = m.prependBos && m.bos != null;
        int[] out = new int[(bos ? 1 : 0) + kept + (m.appendEos ? 1 : 0)];
        int k = 0;
        if (bos) out[k++] = m.bos;
        System.arraycopy(ids, 0, out, k, kept);
        k += kept;
        if (m.appendEos) out[k] = m.eos;
        return new Encoded(out, ids.length, ids.length > limit);
    }

    public String decode(int[] ids) {
        return tokenizer.decode(ids);
    }

    /** The text as the model sees it: encoded then decoded. */
    public String roundtrip(String text) {
        return decode(textIds(text));
    }
}
