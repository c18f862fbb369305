"""The QUALS score from per-token log-probs (spec §6), whatever produced them.

For each selected QA pair z (T tokens, EOS included):
    S_x = mean_t log p(z_t | z_<t, source)                      teacher-forced on the source
    S_y = "paper":  mean_t search_score_t                        the beam score, diversity penalty included
          "clean":  mean_t log p(z_t | z_<t, summary)           teacher-forced on the summary
    d   = S_x - S_y,   QUALS = mean over pairs of d             higher = more consistent
"ans_lm" instead sums (log p(z_t | source) - search_score_t) over the answer tokens, skipping EOS, BOS and
the manifest's punctuation ids, and averages that over pairs. No pair -> no score (None), never -1e5.
"""

from __future__ import annotations

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
    s_x = float(src.mean())
    if variant == "paper":
        s_y = float(search.mean())
        value = s_x - s_y
    elif variant == "clean":
        s_y = float(summ.mean())
        value = s_x - s_y
    elif variant == "ans_lm":
        s_y = float(search.mean())
        idx = [i for i in range(*pair.answer_slice.indices(len(pair.tokens))) if pair.tokens[i] not in ignore_ids]
        value = float((src[idx] - search[idx]).sum())
    else:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return PairScore(
        pair.question,
        pair.answer,
        pair.tokens,
        tuple(float(x) for x in src),
        tuple(float(x) for x in summ),
        tuple(float(x) for x in search),
        s_x,
        s_y,
        value,
    )


def quals(pairs: Sequence[PairScore]) -> float | None:
    """Unweighted mean of the pair terms; None when there is no pair."""
    if not pairs:
        return None
    return float(np.mean([p.value for p in pairs]))
