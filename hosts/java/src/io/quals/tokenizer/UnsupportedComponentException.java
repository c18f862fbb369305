package io.quals.tokenizer;

/** A tokenizer.json component (model, normalizer, pre-tokenizer, decoder, option) this host does not implement. */
public final class UnsupportedComponentException extends RuntimeException {
    public UnsupportedComponentException(String kind, String type) {
        super("unsupported tokenizer " + kind + " '" + type + "' (this host implements WordPiece, byte-level BPE and "
                + "Unigram tokenizers with their usual normalizers, pre-tokenizers and decoders)");
    }
}
