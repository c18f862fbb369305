"""The result of scoring one (source, summary) record."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .score import PairScore, mean_value

STATUS_OK, STATUS_NO_PAIRS, STATUS_ERROR = "ok", "no_qa_pairs", "error"


@dataclass(frozen=True)
class Fact:
    """An unsupported fact of a summary: the pair that checked it, and where the summary states its answer
    (character offsets in the stripped summary, Unicode code points; None when the answer is not found as
    written, e.g. through a lossy tokenizer)."""

    question: str
    answer: str
    span: tuple[int, int] | None

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "answer": self.answer,
                "span": list(self.span) if self.span is not None else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fact:
        span = d.get("span")
        return cls(d["question"], d["answer"], None if span is None else (int(span[0]), int(span[1])))


@dataclass(frozen=True)
class Result:
    """The score of one (source, summary) record."""

    quals: float | None
    status: str
    n_pairs: int = 0
    error: str | None = None
    variant: str = "paper"
    n_hypotheses: int = 0
    n_span_valid: int = 0
    source_tokens: int = 0
    source_truncated: bool = False
    summary_tokens: int = 0
    summary_truncated: bool = False
    pairs: tuple[PairScore, ...] = ()
    # the verdict mode (quals.verdict): None without a calibration, or without a score
    verdict: str | None = None
    p_consistent: float | None = None
    unsupported: tuple[Fact, ...] | None = None
    coverage: tuple[PairScore, ...] = ()  # the verdict mode's coverage pairs (quals.coverage): judged, never in quals

    def for_variant(self, variant: str) -> Result:
        """This result as a Scorer with `variant` returns it: every variant is a function of the stored
        log-probs, so one search and one rescoring serve them all (the service's per-request variant)."""
        if variant == self.variant:
            return self
        pairs = tuple(p.for_variant(variant) for p in self.pairs)
        return dataclasses.replace(self, variant=variant, pairs=pairs, quals=mean_value(pairs))

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "quals": self.quals,
            "n_pairs": self.n_pairs,
            "status": self.status,
            "variant": self.variant,
            "n_hypotheses": self.n_hypotheses,
            "n_span_valid": self.n_span_valid,
            "source_tokens": self.source_tokens,
            "source_truncated": self.source_truncated,
            "summary_tokens": self.summary_tokens,
            "summary_truncated": self.summary_truncated,
            "verdict": self.verdict,
            "p_consistent": self.p_consistent,
            "unsupported": None if self.unsupported is None else [f.to_dict() for f in self.unsupported],
        }
        if self.error is not None:
            d["error"] = self.error
        if details:
            d["pairs"] = [p.to_dict() for p in self.pairs]
            d["coverage_pairs"] = [p.to_dict() for p in self.coverage]
        return d


def error_result(message: str, variant: str = "paper") -> Result:
    return Result(None, STATUS_ERROR, error=message, variant=variant)
