"""The QUALS score from per-token log-probs (docs/quals.md, "Variants"), whatever produced them.

For each selected QA pair z (T tokens, EOS included):
    S_x = mean_t log p(z_t | z_<t, source)                      teacher-forced on the source
    S_y = "paper":  mean_t search_score_t                        the beam score, diversity penalty included
          "clean":  mean_t log p(z_t | z_<t, summary)           teacher-forced on the summary
    d   = S_x - S_y,   QUALS = mean over pairs of d             higher = more consistent
"ans_lm" instead sums (log p(z_t | source) - search_score_t) over the answer tokens, skipping EOS, BOS and
the manifest's punctuation ids, and averages that over pairs. No pair -> no score (None), never -1e5.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .qa import QAPair

VARIANTS = ("paper", "clean", "ans_lm")


@dataclass(frozen=True)
class PairScore:
    """One selected QA pair with everything the score was computed from."""

    question: str
    answer: str
    tokens: tuple[int, ...]
    logp_source: tuple[float, ...]  # log p(z_t | z_<t, source), one per token
    logp_summary: tuple[float, ...]  # log p(z_t | z_<t, summary), teacher-forced, no penalty
    search_scores: tuple[float, ...]  # per-token search scores (penalty included)
    s_x: float
    s_y: float
    value: float  # this pair's term of the mean
    answer_index: tuple[int, ...] = ()  # token positions the ans_lm variant sums over
    # the verdict mode (quals.verdict; None without a calibration): the calibrated probability that the pair's
    # fact is supported by the source, and its band (supported / uncertain / unsupported)
    p_supported: float | None = None
    verdict: str | None = None

    def value_for(self, variant: str) -> float:
        """This pair's term under another variant: every variant is a function of the stored log-probs."""
        return self.for_variant(variant).value

    def for_variant(self, variant: str) -> PairScore:
        """This pair as `variant` scores it (S_y and the term; the log-probs are the same): equal, bit for bit,
        to the pair a Scorer with that variant returns, since both come from `_term` on the same numbers."""
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        s_y, value = _term(np.asarray(self.logp_source), np.asarray(self.logp_summary),
                           np.asarray(self.search_scores), variant, list(self.answer_index))
        return dataclasses.replace(self, s_y=s_y, value=value)

    @classmethod
    def from_dict(cls, d: dict) -> PairScore:
        """The inverse of `to_dict` (plus `answer_index` where the dict carries it)."""
        return cls(question=d["question"], answer=d["answer"], tokens=tuple(d["tokens"]),
                   logp_source=tuple(d["logp_source"]), logp_summary=tuple(d["logp_summary"]),
                   search_scores=tuple(d["search_scores"]), s_x=d["s_x"], s_y=d["s_y"], value=d["value"],
                   answer_index=tuple(d.get("answer_index", ())), p_supported=d.get("p_supported"),
                   verdict=d.get("verdict"))

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "tokens": list(self.tokens),
            "s_x": self.s_x,
            "s_y": self.s_y,
            "value": self.value,
            "logp_source": list(self.logp_source),
            "logp_summary": list(self.logp_summary),
            "search_scores": list(self.search_scores),
            "verdict": self.verdict,
            "p_supported": self.p_supported,
        }


def pair_score(
    pair: QAPair,
    logp_source: Sequence[float],
    logp_summary: Sequence[float],
    variant: str,
    ignore_ids: frozenset[int] = frozenset(),
) -> PairScore:
    src = np.asarray(logp_source, dtype=np.float64)
    summ = np.asarray(logp_summary, dtype=np.float64)
    search = np.asarray(pair.hypothesis.token_scores, dtype=np.float64)
    if not (len(src) == len(summ) == len(search) == len(pair.tokens)):
        raise ValueError("per-token arrays must all have one entry per token")
    idx = [i for i in range(*pair.answer_slice.indices(len(pair.tokens))) if pair.tokens[i] not in ignore_ids]
    s_y, value = _term(src, summ, search, variant, idx)
    return PairScore(
        pair.question,
        pair.answer,
        pair.tokens,
        tuple(float(x) for x in src),
        tuple(float(x) for x in summ),
        tuple(float(x) for x in search),
        float(src.mean()),
        s_y,
        value,
        tuple(idx),
    )


def _term(src: np.ndarray, summ: np.ndarray, search: np.ndarray, variant: str, idx: list[int]) -> tuple[float, float]:
    """(S_y, the pair's term) of one variant."""
    s_x = float(src.mean())
    if variant == "paper":
        s_y = float(search.mean())
        return s_y, s_x - s_y
    if variant == "clean":
        s_y = float(summ.mean())
        return s_y, s_x - s_y
    if variant == "ans_lm":
        return float(search.mean()), float((src[idx] - search[idx]).sum())
    raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")


def mean_value(pairs: Sequence[PairScore], variant: str | None = None) -> float | None:
    """Unweighted mean of the pair terms (of `variant`, default: the one they were scored with); None when
    there is no pair."""
    if not pairs:
        return None
    return float(np.mean([p.value if variant is None else p.value_for(variant) for p in pairs]))
