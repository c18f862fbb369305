"""Generated text as people should read it: cased and spelled as the summary writes it.

A QA pair is decoded from token ids for the metric (the span test compares the decoded answer with the summary,
conformance vectors check the decoding): an uncased WordPiece model gives "what near valparaiso cut power to
about 200, 000 homes?". What a person reads (the JSON `question` / `answer`, explain pages, `quals generate`)
is that text brought back to the summary's own writing: an answer that is a span of the summary is that span
as written ("200,000 homes"); in a question, a number the tokenizer split ("200, 000", "4. 2") is joined where
the summary writes it joined, and a word is cased as the summary cases it; the first letter is capitalised.
Only the shown text changes: the ids (`tokens`) and every number are those of the decoding.
"""

from __future__ import annotations

import functools
import re

_SPLIT_NUMBER = re.compile(r"(\d)([,.:/]) (?=\d)")
_WORD = re.compile(r"\w+", re.UNICODE)


def as_written(text: str, summary: str) -> str | None:
    """The summary's own spelling of `text` when `text` occurs in it up to case and spaces, else None."""
    chars = [c for c in text if not c.isspace()]
    if not chars or not summary:
        return None
    pattern = r"\s*".join(re.escape(c) for c in chars)
    if chars[0].isalnum():
        pattern = r"(?<!\w)" + pattern  # whole words: "an" is not the start of "Anna"
    if chars[-1].isalnum():
        pattern += r"(?!\w)"
    m = re.search(pattern, summary, flags=re.IGNORECASE)
    return m.group(0) if m else None


@functools.lru_cache(maxsize=16)  # one summary's pairs (10-20) all read the same map
def _casing(summary: str) -> dict[str, str]:
    """lower-cased word -> how the summary spells it, for words it never writes in lower case and writes at least
    once inside a sentence ("Chile"; not "A", capitalised only where a sentence starts)."""
    spellings: dict[str, list[tuple[str, bool]]] = {}
    for m in _WORD.finditer(summary):
        before = summary[:m.start()].rstrip()
        initial = not before or before[-1] in ".!?\"'("
        spellings.setdefault(m.group(0).lower(), []).append((m.group(0), initial))
    out = {}
    for low, seen in spellings.items():
        inside = [w for w, initial in seen if not initial]
        if inside and all(w != low for w, _ in seen):
            out[low] = inside[0]
    return out


def readable(text: str, summary: str, *, capitalise: bool = False) -> str:
    """`text` (a decoded question or answer) as the summary writes its words and numbers."""
    text = text.strip()
    whole = as_written(text, summary)
    if whole is not None:
        return whole
    low = summary.lower()
    text = _SPLIT_NUMBER.sub(lambda m: m.group(1) + m.group(2) if _joined_in(m, text, low) else m.group(0), text)
    cases = _casing(summary)
    text = _WORD.sub(lambda m: cases.get(m.group(0).lower(), m.group(0)) if m.group(0).islower() else m.group(0),
                     text)
    if capitalise and text[:1].islower():
        text = text[0].upper() + text[1:]
    return text


def _joined_in(m: re.Match, text: str, summary_lower: str) -> bool:
    """Whether the number around a split ("200, 000") is written joined ("200,000") in the summary."""
    left = re.search(r"\d+$", text[:m.start() + 1])
    right = re.match(r"\d+", text[m.end():])
    if not left or not right:
        return False
    return (left.group(0) + m.group(2) + right.group(0)) in summary_lower


def pair_text(question: str, answer: str, summary: str) -> tuple[str, str]:
    """(question, answer) for people: the answer as the summary writes it, the question cased and joined (the
    decodings as they are, should the text defeat a pattern: showing them never fails a record)."""
    try:
        return readable(question, summary, capitalise=True), readable(answer, summary)
    except (re.error, RecursionError):
        return question, answer
