"""The result of scoring one (source, summary) record."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .score import PairScore, mean_value

STATUS_OK, STATUS_NO_PAIRS, STATUS_ERROR = "ok", "no_qa_pairs", "error"


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
        }
        if self.error is not None:
            d["error"] = self.error
        if details:
            d["pairs"] = [p.to_dict() for p in self.pairs]
        return d


def error_result(message: str, variant: str = "paper") -> Result:
    return Result(None, STATUS_ERROR, error=message, variant=variant)
