"""The verdict calibration's fit (quals.train.calibrate): the solver, the thresholds, and one command from scored
records to a calibration the scorer loads."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from quals import Scorer
from quals.cli import main
from quals.train import calibrate as cal_mod
from quals.verdict import CALIBRATION_NAME, load_calibration


def test_the_logistic_fit_recovers_known_weights():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20000, 2))
    p = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 2.0 * x[:, 1] + 0.5)))
    y = (rng.random(20000) < p).astype(float)
    w, b = cal_mod.fit_logistic(x, y)
    assert w == pytest.approx([1.5, -2.0], abs=0.1) and b == pytest.approx(0.5, abs=0.1)


def test_thresholds_keep_each_side_precise_and_never_cross():
    y = np.array([0] * 50 + [1] * 50)
    p = np.linspace(0, 1, 100)  # perfectly separable: one threshold, no uncertain band
    lo, hi = cal_mod.thresholds(y, p)
    assert lo <= hi and (y[p >= hi] == 1).mean() >= 0.9 and (y[p < lo] == 0).mean() >= 0.9
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 400), 0, 1)  # overlapping: a band between
    lo, hi = cal_mod.thresholds(y, p)
    assert lo < hi and (y[p >= hi] == 1).mean() >= 0.9 and (y[p < lo] == 0).mean() >= 0.9
    assert lo == max(t for t in np.unique(p) if (p < t).any() and (y[p < t] == 0).mean() >= 0.9)
    rep = cal_mod.report(y, p, lo, hi)
    assert 0 < rep["uncertain"] < 1 and rep["precision_positive"] >= 0.9 and rep["precision_negative"] >= 0.9


def test_pair_labels_follow_the_planted_words():
    summary = "Anna met Tom Jones in Oslo."
    planted = [9, 18]  # "Tom Jones"
    assert cal_mod.pair_label({"answer": "tom jones", "question": "who?"}, summary, planted, 0) == 0
    assert cal_mod.pair_label({"answer": "oslo", "question": "where did anna meet jones?"}, summary, planted, 0) == 0
    assert cal_mod.pair_label({"answer": "oslo", "question": "where did anna go?"}, summary, planted, 0) == 1
    assert cal_mod.pair_label({"answer": "x", "question": "y"}, summary, None, 0) == 0  # another article's lead
    assert cal_mod.pair_label({"answer": "x", "question": "y"}, summary, None, 1) == 1


def test_one_command_fits_a_calibration_the_scorer_loads(bart_bundle, tmp_path, monkeypatch):
    """From scored records (`quals score --details --no-verdicts --coverage-pairs`) to calibration.json. The tiny
    model writes no span-valid pair by itself, so the search is given pairs, as in test_verdict."""
    from test_verdict import with_fixed_pairs

    b = tmp_path / "b"
    shutil.copytree(bart_bundle, b)
    source = "Anna Smith built a bridge in Paris in 1990. It cost four million francs."
    rows = []
    for i, (summary, label, planted) in enumerate([
            ("Anna built a bridge in Paris.", 1, None), ("Tom built a bridge in Paris.", 0, [0, 3]),
            ("The bridge in Paris is from 1990.", 1, None), ("The bridge in Rome is from 1990.", 0, [14, 18]),
            ("Anna built it in 1990.", 1, None), ("Tom built it in Rome.", 0, [0, 3])] * 3):
        rows.append({"id": f"r{i}", "doc": f"d{i % 6}", "source": source, "summary": summary, "label": label,
                     "planted": planted})
    inputs = tmp_path / "set.jsonl"
    inputs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    scorer = with_fixed_pairs(Scorer.load(b, verdicts=False, coverage_pairs=True))
    scored = tmp_path / "scored.jsonl"
    scored.write_text("".join(json.dumps({"id": r["id"], **res.to_dict(details=True)}) + "\n"
                              for r, res in zip(rows, scorer.score([r["source"] for r in rows],
                                                                   [r["summary"] for r in rows]))))
    monkeypatch.setattr(cal_mod, "FOLDS", 3)
    cal, cv = cal_mod.calibrate(b, scored, inputs)
    assert cal.features == cal_mod.FEATURES and cv["summary"]["n"] == len(rows)
    assert cal.provenance["data"]["records"] == len(rows)
    path = cal_mod.write_calibration(cal, b)
    assert path.name == CALIBRATION_NAME and load_calibration(b, cal.bundle) is not None
    again, _ = cal_mod.calibrate(b, scored, inputs)
    assert again.to_dict() == cal.to_dict()  # the same records give the same file
    judged = with_fixed_pairs(Scorer.load(b))
    assert f"cal:{judged.calibration.id[:12]}" in judged.signature()
    res = judged.score([source] * 2, ["Anna built a bridge in Paris.", "Tom built a bridge in Rome."])
    assert res[0].verdict is not None and res[0].p_consistent > res[1].p_consistent
    out = CliRunner().invoke(main, ["score", "--model", str(b), "--source-text", source, "--summary-text", "Anna."])
    assert out.exit_code == 0 and "p_consistent" in out.stdout
