"""Agreement between scores and human labels, in numpy: correlations, ROC-AUC, balanced accuracy, and
percentile bootstrap intervals for each.

Ties are handled the standard way (average ranks for Spearman, half credit for ROC-AUC), so the numbers
equal scipy's and scikit-learn's without depending on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def rankdata(x: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing their mean rank (scipy.stats.rankdata 'average')."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    bounds = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1], True])
    ranks_sorted = np.empty(len(x))
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        ranks_sorted[lo:hi] = (lo + 1 + hi) / 2.0
    ranks = np.empty(len(x))
    ranks[order] = ranks_sorted
    return ranks


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc * xc).sum() * (yc * yc).sum())
    return float((xc * yc).sum() / den) if den > 0 else float("nan")


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    return pearson(rankdata(x), rankdata(y))


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting one half (Mann-Whitney U / n+ n-)."""
    labels = np.asarray(labels) > 0.5
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = rankdata(scores)
    return float((r[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def best_balanced_accuracy(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(balanced accuracy, threshold) at the threshold that maximises it on these data: SummaC's protocol
    on validation sets. Optimistic on the same data, so it is reported with the threshold it chose."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels) > 0.5
    pos, neg = np.sort(scores[labels]), np.sort(scores[~labels])
    if len(pos) == 0 or len(neg) == 0:
        return float("nan"), float("nan")
    cands = np.r_[np.unique(scores), np.inf]  # predict consistent when score >= t
    tpr = 1.0 - np.searchsorted(pos, cands, side="left") / len(pos)
    tnr = np.searchsorted(neg, cands, side="left") / len(neg)
    bacc = (tpr + tnr) / 2
    i = int(np.argmax(bacc))
    return float(bacc[i]), float(cands[i])


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float  # 95% percentile bootstrap interval
    high: float

    def to_dict(self) -> dict:
        """JSON-ready: an undefined value (one class only, too few records) is null, never a bare NaN."""
        return {"value": finite_or_none(self.value), "ci95": [finite_or_none(self.low), finite_or_none(self.high)]}


def finite_or_none(x: float | None) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def bootstrap(
    fn: Callable[[np.ndarray, np.ndarray], float],
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Estimate:
    """`fn(scores, labels)` with a 95% interval from resampling records with replacement (seeded, so the
    interval is reproducible); resamples where the metric is undefined (one class only) are skipped."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, np.float64)
    value = fn(scores, labels)
    if len(scores) < 2 or n_resamples <= 0:
        return Estimate(value, float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    stats = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(scores), len(scores))
        v = fn(scores[idx], labels[idx])
        if np.isfinite(v):
            stats.append(v)
    if not stats:
        return Estimate(value, float("nan"), float("nan"))
    low, high = np.percentile(stats, [2.5, 97.5])
    return Estimate(value, float(low), float(high))
