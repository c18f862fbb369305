"""Text <-> token ids, following the bundle's encoding conventions (not the tokenizer's post-processor).

The QUALS authors fed `BPE(text)[:1022] + [</s>]` with no `<s>` on either side; the HF tokenizer of a
BART checkpoint would add `<s>`. So special tokens are added here, from the manifest, never by the
tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer

from .bundle import Encoding, SpecialTokens
from .errors import BundleError


@dataclass(frozen=True)
class Encoded:
    ids: tuple[int, ...]  # encoder input ids, special tokens included
    n_text_tokens: int  # text tokens before truncation
    truncated: bool


class TextCodec:
    def __init__(self, tokenizer_path: Path, tokens: SpecialTokens, encoding: Encoding):
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise BundleError(f"{tokenizer_path}: cannot load tokenizer ({exc})") from exc
        self.tokens = tokens
        self.encoding = encoding

    def text_ids(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def encode(self, text: str, max_tokens: int | None = None) -> Encoded:
        """Encode `text` (already stripped) for the encoder, keeping its first `max_tokens` text tokens."""
        limit = self.encoding.max_source_tokens if max_tokens is None else max_tokens
        ids = self.text_ids(text)
        kept = ids[:limit]
        out = ([self.tokens.bos] if self.encoding.prepend_bos and self.tokens.bos is not None else []) + kept
        if self.encoding.append_eos:
            out.append(self.tokens.eos)
        return Encoded(tuple(out), len(ids), len(ids) > limit)

    def windows(self, text: str, max_tokens: int | None = None) -> list[Encoded]:
        """`text` (already stripped) as overlapping windows of `max_tokens` text tokens, each starting half a
        window after the last, the last ending at the text's end: every token is in one window, and every
        stretch of up to half a window in one window whole. A text within the limit is one window, equal to
        `encode(text)`. No window is truncated: together they hold the whole text."""
        limit = self.encoding.max_source_tokens if max_tokens is None else max_tokens
        ids = self.text_ids(text)
        if len(ids) <= limit:
            return [self.encode(text, limit)]
        stride = max(1, limit // 2)
        starts = list(range(0, len(ids) - limit, stride)) + [len(ids) - limit]
        bos = [self.tokens.bos] if self.encoding.prepend_bos and self.tokens.bos is not None else []
        eos = [self.tokens.eos] if self.encoding.append_eos else []
        return [Encoded(tuple(bos + ids[s:s + limit] + eos), len(ids), False) for s in starts]

    def qa_target(self, question: str, answer: str, sep_id: int) -> list[int]:
        """A QA sequence as QAGen writes it (the authors' training target): question, separator, answer, EOS;
        each side encoded on its own from its stripped text."""
        return self.text_ids(question.strip()) + [sep_id] + self.text_ids(answer.strip()) + [self.tokens.eos]

    def roundtrip(self, text: str) -> str:
        """`text` as the model sees it: encoded then decoded (equal to `text` for a lossless tokenizer)."""
        return self.decode(self.text_ids(text))

    def decode(self, ids) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)
