"""Agreement metrics against references we did not write (scipy, scikit-learn) and hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest
from quals.tasks import metrics


def test_hand_checked_values():
    assert metrics.rankdata(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    # positives 0.9, 0.4; negatives 0.4, 0.1: pairs (0.9>0.4, 0.9>0.1, 0.4=0.4 -> 1/2, 0.4>0.1) = 3.5 / 4
    assert metrics.roc_auc(np.array([0.9, 0.4, 0.4, 0.1]), np.array([1, 1, 0, 0])) == pytest.approx(0.875)
    assert metrics.pearson(np.array([1, 2, 3.0]), np.array([2, 4, 6.0])) == pytest.approx(1.0)
    assert metrics.spearman(np.array([1, 2, 3.0]), np.array([30, 20, 10.0])) == pytest.approx(-1.0)
    bacc, t = metrics.best_balanced_accuracy(np.array([0.9, 0.8, 0.2, 0.1]), np.array([1, 1, 0, 0]))
    assert bacc == 1.0 and 0.2 < t <= 0.8
    assert np.isnan(metrics.roc_auc(np.array([1.0, 2.0]), np.array([1, 1])))


@pytest.mark.parametrize("seed", range(5))
def test_against_scipy_and_sklearn(seed):
    from scipy import stats
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    rng = np.random.default_rng(seed)
    n = 200
    labels = (rng.random(n) < 0.3).astype(float)
    scores = np.round(rng.normal(size=n) + labels, 1)  # rounded: many ties
    graded = np.round(rng.normal(size=n) + scores, 0)
    assert metrics.roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert metrics.pearson(scores, graded) == pytest.approx(stats.pearsonr(scores, graded)[0], abs=1e-12)
    assert metrics.spearman(scores, graded) == pytest.approx(stats.spearmanr(scores, graded)[0], abs=1e-12)
    assert np.allclose(metrics.rankdata(scores), stats.rankdata(scores))
    bacc, t = metrics.best_balanced_accuracy(scores, labels)
    assert bacc == pytest.approx(balanced_accuracy_score(labels, scores >= t))
    best = max(balanced_accuracy_score(labels, scores >= u) for u in np.unique(scores))
    assert bacc == pytest.approx(best)


def test_bootstrap_is_seeded_and_brackets_the_value():
    rng = np.random.default_rng(0)
    labels = (rng.random(300) < 0.5).astype(float)
    scores = rng.normal(size=300) + labels
    a = metrics.bootstrap(metrics.roc_auc, scores, labels, n_resamples=200, seed=3)
    b = metrics.bootstrap(metrics.roc_auc, scores, labels, n_resamples=200, seed=3)
    assert a == b
    assert a.low < a.value < a.high and a.high - a.low < 0.2


def test_bootstrap_skips_one_class_resamples():
    e = metrics.bootstrap(metrics.roc_auc, np.array([0.1, 0.9, 0.5]), np.array([0.0, 1.0, 1.0]), n_resamples=50)
    assert e.value == 1.0 and np.isfinite(e.low)
