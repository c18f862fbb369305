import json

import numpy as np
import pytest
from quals.tasks.metrics import Estimate
from quals.train import compare


def _write(path, labels, scores):
    rows = [{"benchmark": b, "id": f"r{i}", "origin": "cnndm", "label": float(labels[i]), "status": "ok",
             "quals": {"paper": float(scores[i]), "clean": float(scores[i])}}
            for b in ("s1", "s2") for i in range(len(labels))]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_rules_on_hand_made_differences():
    k = ("s", "all", "paper")
    up = {k: Estimate(0.02, 0.001, 0.04), ("s", "cnndm", "paper"): Estimate(-0.5, -0.6, -0.4)}
    assert compare.verdict(up, "replace").holds  # per-origin rows do not count, only pooled ones
    flat = {k: Estimate(0.0, -0.01, 0.01)}
    assert not compare.verdict(flat, "replace").holds  # no gain: the old default stays
    assert compare.verdict(flat, "quantize").holds
    slight = {k: Estimate(-0.004, -0.02, 0.01), ("t", "all", "paper"): Estimate(-0.007, -0.02, 0.001)}
    v = compare.verdict(slight, "quantize")
    assert not v.holds and v.mean_change == pytest.approx(-0.0055) and not v.below_zero
    below = {k: Estimate(0.03, 0.01, 0.05), ("t", "all", "clean"): Estimate(-0.01, -0.02, -0.001)}
    v = compare.verdict(below, "replace")
    assert not v.holds and v.below_zero == (("t", "all", "clean"),) and "t/clean" in v.reason()
    with pytest.raises(ValueError, match="nothing to decide"):
        compare.verdict({k: Estimate(float("nan"), float("nan"), float("nan"))}, "replace")
    with pytest.raises(ValueError, match="unknown rule"):
        compare.verdict(up, "ship")


def test_cli_exit_status_follows_the_rule(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 80)
    good = labels + rng.normal(0, 0.3, 80)
    bad = labels + rng.normal(0, 3.0, 80)
    _write(tmp_path / "good.jsonl", labels, good)
    _write(tmp_path / "bad.jsonl", labels, bad)
    assert compare.main([str(tmp_path / "good.jsonl"), str(tmp_path / "bad.jsonl"), "--resamples", "200",
                         "--json", str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["holds"] and out["mean_change"] > 0 and {r["benchmark"] for r in out["rows"]} == {"s1", "s2"}
    assert "replace: holds" in capsys.readouterr().out
    assert compare.main([str(tmp_path / "bad.jsonl"), str(tmp_path / "good.jsonl"), "--resamples", "200"]) == 1
    assert compare.main([str(tmp_path / "missing.jsonl"), str(tmp_path / "good.jsonl")]) == 2


def test_stored_baseline_must_be_of_the_current_bundle(tmp_path, bart_bundle, capsys):
    from quals.bundle import load_bundle

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 40)
    _write(tmp_path / "a.jsonl", labels, labels + rng.normal(0, 0.3, 40))
    _write(tmp_path / "b.jsonl", labels, labels + rng.normal(0, 3.0, 40))
    digest = load_bundle(bart_bundle).digest[:12]
    args = [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--resamples", "100",
            "--baseline-report", str(tmp_path / "b.json"), "--baseline-bundle", str(bart_bundle)]
    (tmp_path / "b.json").write_text(json.dumps({"signature": f"quals|bundle:{digest}|search:fairseq"}))
    assert compare.main(args) == 0
    (tmp_path / "b.json").write_text(json.dumps({"signature": "quals|bundle:000000000000|search:fairseq"}))
    assert compare.main(args) == 2 and "stale baseline" in capsys.readouterr().err
    assert compare.main(args[:-2]) == 2  # a report without its bundle


def test_paired_auc_differences(tmp_path):
    from quals.tasks.metrics import roc_auc

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60).astype(float)
    sa = labels + rng.normal(0, 1, 60)
    sb = sa + rng.normal(0, 0.5, 60)

    def write(path, scores):
        rows = [{"benchmark": "s", "id": f"r{i}", "origin": "cnndm" if i % 2 else "xsum", "label": labels[i],
                 "status": "ok", "quals": {"paper": scores[i], "clean": -scores[i]}} for i in range(60)]
        rows.append({"benchmark": "s", "id": "bad", "origin": "xsum", "label": 1.0, "status": "error",
                     "quals": None})
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    write(tmp_path / "a.jsonl", sa)
    write(tmp_path / "b.jsonl", sb)
    d = compare.paired_auc_differences(tmp_path / "a.jsonl", tmp_path / "b.jsonl", n_resamples=200)
    assert set(d) == {(b, o, v) for b in ["s"] for o in ["all", "cnndm", "xsum"] for v in ["paper", "clean"]}
    e = d[("s", "all", "paper")]
    assert e.value == pytest.approx(roc_auc(sa, labels) - roc_auc(sb, labels))
    assert e.low <= e.value <= e.high and e.high - e.low > 0
    same = compare.paired_auc_differences(tmp_path / "a.jsonl", tmp_path / "a.jsonl", n_resamples=50)
    assert all(x.value == x.low == x.high == 0 for x in same.values())
