"""--workers: scoring in several processes gives the same records, in the same order, as one process."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner
from quals import Scorer
from quals.cli import main
from quals.run.pool import ScorerPool, WorkerError, threads_per_worker

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "models" / "default"
SMALL = ["--num-beams", "6", "--num-groups", "3", "--no-progress"]  # real pairs from the trained model, quickly

pytestmark = pytest.mark.skipif(not (DEFAULT / "quals.json").is_file(), reason="no models/default in this checkout")


def _records() -> list[str]:
    lines = (ROOT / "examples" / "pairs.jsonl").read_text().splitlines()
    extra = json.dumps({"id": "x4", "source": "Ada Lovelace wrote the first program in 1843.",
                        "summary": "Ada Lovelace wrote a program in 1843."})
    # A bad line and an empty summary in the middle: their records must keep their places.
    return lines[:2] + ["{not json", json.dumps({"id": "empty", "source": "S.", "summary": " "})] + lines[2:] + [extra]


def test_score_with_workers_equals_one_process(tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text("\n".join(_records()) + "\n")
    outs = []
    for workers, batch in (("1", "16"), ("2", "1"), ("3", "2")):
        out = tmp_path / f"out{workers}.jsonl"
        r = CliRunner().invoke(main, ["score", "--input", str(inp), "--output", str(out), "--workers", workers,
                                      "--batch-size", batch, "--details", *SMALL])
        assert r.exit_code == 1, r.output  # two records are errors, the others are scored
        outs.append(out.read_text())
    assert outs[0] == outs[1] == outs[2]
    recs = [json.loads(x) for x in outs[0].splitlines()]
    assert [x.get("id") for x in recs] == ["ex1", "ex2", None, "empty", "ex3", "x4"]
    assert [x["status"] for x in recs] == ["ok", "ok", "error", "error", "ok", "ok"]


def test_evaluate_with_workers_equals_one_process(tmp_path):
    bench = tmp_path / "b.jsonl"
    recs = [json.loads(x) for x in _records()[:2] + _records()[4:]]
    bench.write_text("".join(json.dumps({**r, "label": i % 2}) + "\n" for i, r in enumerate(recs)))
    got = []
    for workers in ("1", "2"):
        scores, report = tmp_path / f"s{workers}.jsonl", tmp_path / f"r{workers}.json"
        r = CliRunner().invoke(main, ["evaluate", "--benchmark", str(bench), "--workers", workers, "--bootstrap", "10",
                                      "--scores", str(scores), "--json", str(report), *SMALL])
        assert r.exit_code == 0, r.output
        got.append((scores.read_text(), json.loads(report.read_text())["rows"]))
    assert got[0] == got[1]


def test_a_dead_worker_is_an_error_not_a_silent_loss():
    options = Scorer.load(DEFAULT, num_beams=6, num_groups=3).options
    batch = (["Ada Lovelace wrote the first program in 1843."], ["Ada Lovelace wrote a program in 1843."])
    with ScorerPool(DEFAULT, 1, options, threads=1) as pool:
        assert len(next(pool.score_batches([batch]))) == 1
        for pid in list(pool._pool._processes):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerError, match="died"):
            list(pool.score_batches([batch, batch]))


def test_threads_per_worker(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert threads_per_worker(1, None) is None
    assert threads_per_worker(3, None) == 2
    assert threads_per_worker(16, None) == 1
    assert threads_per_worker(4, 3) == 3


def test_batches_are_sized_so_that_every_worker_gets_work():
    from quals.run.runner import EngineSpec, batch_size_for

    two = EngineSpec(workers=2)
    assert batch_size_for(16, two) == 2  # 8 batches: both workers busy, not one batch of 16
    assert batch_size_for(20, two) == 3
    assert batch_size_for(1, two) == 1 and batch_size_for(0, two) == 1
    assert batch_size_for(10_000, two) == 16  # capped: fewer, larger calls once there is plenty of work
    assert batch_size_for(32, EngineSpec(engine="ray", actors=4)) == 2
    assert batch_size_for(16, EngineSpec()) == 4
