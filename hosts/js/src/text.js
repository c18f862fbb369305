// Text <-> token ids, following the bundle's encoding conventions (docs/hosts.md §3; Python: quals.text).
// Tokenization itself is @huggingface/tokenizers (tokenizer.json); special tokens are added here, from the
// manifest, never by the tokenizer's post-processor.
import { Tokenizer } from "@huggingface/tokenizers";
import { BundleError } from "./errors.js";

// The tokenizer components the hosts implement (docs/hosts.md §3): WordPiece, byte-level BPE and Unigram
// families. Anything else is refused at load, naming the component, as the Java and C# hosts do.
const SUPPORTED = {
  model: new Set(["WordPiece", "BPE", "Unigram"]),
  normalizer: new Set(["BertNormalizer", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Sequence"]),
  pre_tokenizer: new Set(["BertPreTokenizer", "ByteLevel", "Metaspace", "Sequence"]),
  decoder: new Set(["WordPiece", "ByteLevel", "Metaspace", "Sequence"]),
};
const CHILDREN = { normalizer: "normalizers", pre_tokenizer: "pretokenizers", decoder: "decoders" };

function checkComponent(kind, config) {
  if (config === null || config === undefined) return;
  if (!SUPPORTED[kind].has(config.type)) throw new BundleError(`unsupported tokenizer ${kind} '${config.type}'`);
  if (config.type === "Sequence") for (const child of config[CHILDREN[kind]] ?? []) checkComponent(kind, child);
}

/** Whether a normalizer (or a Sequence of them) lower-cases. */
function lowercases(config) {
  if (!config) return false;
  if (config.type === "Lowercase") return true;
  if (config.type === "BertNormalizer") return config.lowercase !== false;
  if (config.type === "Sequence") return (config.normalizers ?? []).some(lowercases);
  return false;
}

// Python's str.strip(): the characters str.isspace() is true for (JavaScript's trim() differs: it strips
// U+FEFF and keeps U+001C-U+001F and U+0085).
export const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const LEADING = new RegExp(`^[${PY_SPACE}]+`);
const TRAILING = new RegExp(`[${PY_SPACE}]+$`);

export function pyStrip(text) {
  return text.replace(LEADING, "").replace(TRAILING, "");
}

/** Python's str.lower() (full Unicode lower-casing, final sigma included). */
export function pyLower(text) {
  return text.toLowerCase();
}

/** Encoder input: ids (special tokens included), text tokens before truncation, whether it was cut. */
export class Encoded {
  constructor(ids, n_text_tokens, truncated) {
    this.ids = ids;
    this.n_text_tokens = n_text_tokens;
    this.truncated = truncated;
  }
}

export class TextCodec {
  /** tokenizerJson: the parsed tokenizer.json; tokens, encoding: the manifest's blocks. */
  constructor(tokenizerJson, tokens, encoding, name = "tokenizer.json") {
    try {
      checkComponent("model", tokenizerJson.model);
      for (const kind of ["normalizer", "pre_tokenizer", "decoder"]) checkComponent(kind, tokenizerJson[kind]);
    } catch (exc) {
      throw new BundleError(`${name}: ${exc.message}`);
    }
    try {
      this.tokenizer = new Tokenizer(tokenizerJson, {});
    } catch (exc) {
      throw new BundleError(`${name}: cannot load tokenizer (${exc.message})`);
    }
    if (lowercases(tokenizerJson.normalizer) && this.tokenizer.normalizer) {
      // tokenizers (Rust) lower-cases character by character: a word-final capital sigma becomes σ. JavaScript's
      // toLowerCase, which @huggingface/tokenizers calls, writes ς there. Σ only ever lower-cases to one of the
      // two, so mapping it to σ first gives the Rust result.
      const normalize = this.tokenizer.normalizer;
      this.tokenizer.normalizer = (text) => normalize(text.replaceAll("\u03A3", "\u03C3"));
    }
    this.tokens = tokens;
    this.encoding = encoding;
  }

  /** Token ids of `text` without the post-processor's special tokens. */
  textIds(text) {
    if (text.length === 0) return [];
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Encode `text` (already stripped) for the encoder, keeping its first `maxTokens` text tokens. */
  encode(text, maxTokens = null) {
    const limit = maxTokens ?? this.encoding.max_source_tokens;
    const ids = this.textIds(text);
    const out = this.encoding.prepend_bos && this.tokens.bos !== null ? [this.tokens.bos] : [];
    out.push(...ids.slice(0, limit));
    if (this.encoding.append_eos) out.push(this.tokens.eos);
    return new Encoded(out, ids.length, ids.length > limit);
  }

  /** `text` as the model sees it: encoded then decoded (equal to `text` for a lossless tokenizer). */
  roundtrip(text) {
    return this.decode(this.textIds(text));
  }

  /** tokenizers' decode(ids, skip_special_tokens): no transformers-style clean-up beyond the decoder's own. */
  decode(ids, { skipSpecialTokens = true } = {}) {
    if (ids.length === 0) return "";
    return this.tokenizer.decode(Array.from(ids), {
      skip_special_tokens: skipSpecialTokens,
      clean_up_tokenization_spaces: false,
    });
  }
}
