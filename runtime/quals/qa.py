"""From generated sequences to the QA pairs QUALS scores (docs/quals.md, "The pipeline").

parse: split at the separator into exactly two parts; keep a pair when its lower-cased answer is a plain
character substring of the lower-cased summary (no tokenisation, no word boundary, so "ales" matches
"Wales"; an empty answer matches). select: rank by the summed search score, group by lower-cased answer,
then round-robin over the answers, checking the cap only between rounds, as the authors' code does (so the
first round keeps one pair per distinct answer even when there are more than `max_pairs`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .search.base import Hypothesis


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str
    tokens: tuple[int, ...]  # the generated ids: question, separator, answer (and EOS when generated)
    sep_index: int  # position of the separator in tokens
    hypothesis: Hypothesis

    @property
    def answer_slice(self) -> slice:
        """Answer tokens: strictly between the separator and the final EOS."""
        end = len(self.tokens) - 1 if self.hypothesis.finished else len(self.tokens)
        return slice(self.sep_index + 1, end)


def parse(hyp: Hypothesis, *, sep_id: int, eos_id: int, decode: Callable[[Sequence[int]], str]) -> QAPair | None:
    """(question, answer) of one hypothesis, or None unless it holds exactly one separator."""
    body = list(hyp.tokens[:-1] if hyp.finished and hyp.tokens and hyp.tokens[-1] == eos_id else hyp.tokens)
    if body.count(sep_id) != 1:
        return None
    s = body.index(sep_id)
    return QAPair(decode(body[:s]), decode(body[s + 1 :]), hyp.tokens, s, hyp)


def answer_in_summary(answer: str, summary: str, *views: str) -> bool:
    """The authors' test (lower-cased character substring of the summary), also accepted against other
    `views` of the summary: the scorer passes the summary as the tokenizer decodes it, since a lossy
    tokenizer (uncased WordPiece: no accents, spaces around punctuation) can never reproduce the raw text.
    For a lossless tokenizer (byte-level BPE, as the authors') the view equals the summary: same result."""
    a = answer.lower()
    return any(a in text.lower() for text in (summary, *views))


def answer_span(answer: str, summary: str) -> tuple[int, int] | None:
    """Where `summary` states `answer` (its first occurrence, ignoring case): (start, end) in code points, or
    None when it is not there as written (an answer decoded through a lossy tokenizer)."""
    if not answer:
        return None
    low_s, low_a = summary.lower(), answer.lower()
    if len(low_s) == len(summary) and len(low_a) == len(answer):  # lower-casing kept every offset
        i = low_s.find(low_a)
    else:
        i = summary.find(answer)
    return None if i < 0 else (i, i + len(answer))


def select_pairs(pairs: Sequence[QAPair], max_pairs: int = 10) -> list[QAPair]:
    """The authors' selection: round-robin over distinct answers by summed search score, cap between rounds."""
    ranked = sorted(pairs, key=lambda p: p.hypothesis.sum_score, reverse=True)  # stable for ties
    groups: dict[str, list[QAPair]] = {}
    for p in ranked:
        groups.setdefault(p.answer.lower(), []).append(p)
    queues = [list(g) for g in groups.values()]
    seen_q: list[set[str]] = [set() for _ in queues]
    selected: list[QAPair] = []
    added = True
    while added and len(selected) < max_pairs:
        added = False
        for i, q in enumerate(queues):
            if not q:
                continue
            p = q.pop(0)
            if p.question.lower() not in seen_q[i]:  # a popped duplicate question is dropped
                seen_q[i].add(p.question.lower())
                selected.append(p)
                added = True  # a round that only drops duplicates ends the selection
    return selected
