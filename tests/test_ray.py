"""The Ray engine gives the local engine's numbers, record for record, in input order.

A local Ray (2 CPUs) is started once for the module. The default model with a short search, so that
there are real QA pairs to compare (a random model finds none)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from quals.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "models" / "default"
SHORT = ["--num-beams", "8", "--num-groups", "4", "--diversity", "0.5", "--max-length", "30", "--min-length", "4"]

if os.environ.get("QUALS_REQUIRE_RAY") == "1":
    import ray  # noqa: F401  (CI: a missing ray fails here instead of skipping)
else:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'quals[ray]')")

pytestmark = pytest.mark.skipif(not (DEFAULT / "quals.json").is_file(), reason="no models/default here")

RECORDS = [
    {"id": "a", "source": "Anna Smith built a bridge in Paris in 1990. It cost four million francs.",
     "summary": "Anna Smith built a bridge in Paris."},
    {"id": "b", "source": "Anna Smith built a bridge in Paris in 1990. It cost four million francs.",
     "summary": "Tom Jones built a tower in Rome in 1990."},
    {"id": "c", "source": "x", "summary": ""},
    {"id": "d", "source": "The council approved the budget on Monday after a long debate.",
     "summary": "The council approved the budget on Monday."},
    {"id": "e", "source": "The council approved the budget on Monday after a long debate.",
     "summary": "The council rejected the budget."},
]


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_score_engine_ray_equals_local(local_ray, tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    base = ["score", "--model", str(DEFAULT), "--input", str(inp), "--details", "--batch-size", "2", *SHORT]
    local = CliRunner().invoke(main, base)
    ray_run = CliRunner().invoke(main, [*base, "--engine", "ray", "--actors", "2", "--cpus-per-actor", "1"])
    assert local.exit_code == ray_run.exit_code == 1  # record c has an empty summary
    assert ray_run.exception is None or isinstance(ray_run.exception, SystemExit), repr(ray_run.exception)
    assert ray_run.stdout == local.stdout
    recs = [json.loads(x) for x in local.stdout.splitlines()]
    assert [r["id"] for r in recs] == ["a", "b", "c", "d", "e"]
    assert sum(r["status"] == "ok" and r["n_pairs"] > 0 for r in recs) >= 3  # real pairs were compared


def test_score_dataset_api_maps_rows_to_results(local_ray):
    from quals import Scorer
    from quals.run.ray import result_from_row, score_dataset

    ds = local_ray.data.from_items([{"source": r["source"], "summary": r["summary"], "id": r["id"]}
                                    for r in RECORDS])
    opts = dict(num_beams=8, num_groups=4, diversity=0.5, max_length=30, min_length=4)
    out = score_dataset(ds, DEFAULT, actors=1, cpus_per_actor=1, batch_size=2, details=True, **opts)
    rows = sorted(out.take_all(), key=lambda r: r["id"])
    want = Scorer.load(DEFAULT, threads=1, **opts).score([r["source"] for r in RECORDS],
                                                          [r["summary"] for r in RECORDS])
    assert [r["id"] for r in rows] == [r["id"] for r in RECORDS]
    for row, w in zip(rows, want):
        assert result_from_row(row) == w


def test_conseq_engine_ray_equals_local(local_ray, tmp_path):
    docs = [{"id": "d1", "source": RECORDS[0]["source"], "reference": RECORDS[0]["summary"],
             "candidates": [RECORDS[1]["summary"], "Anna Smith built a bridge in 1990."]},
            {"id": "d2", "source": RECORDS[3]["source"], "reference": RECORDS[3]["summary"],
             "candidates": [RECORDS[4]["summary"]]}]
    inp = tmp_path / "docs.jsonl"
    inp.write_text("".join(json.dumps(d) + "\n" for d in docs))
    outs = []
    for name, extra in (("local", []), ("ray", ["--engine", "ray", "--actors", "2"])):
        out = tmp_path / name
        r = CliRunner().invoke(main, ["conseq", "--model", str(DEFAULT), "--input", str(inp), "--out", str(out),
                                      "--neg-ratio", "1", "--pos-ratio", "1", "--no-progress", *SHORT, *extra])
        assert r.exit_code == 0, r.output
        outs.append(out)
    for f in ("scored.jsonl", "train.source", "train.target", "train.untarget"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    assert (outs[0] / "train.source").read_text().count("\n") >= 1


def test_evaluate_engine_ray_equals_local(local_ray, tmp_path):
    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({**r, "label": i % 2}) + "\n" for i, r in enumerate(RECORDS) if r["summary"]))
    reports = []
    for name, extra in (("local", []), ("ray", ["--engine", "ray", "--actors", "2"])):
        out = tmp_path / f"{name}.json"
        r = CliRunner().invoke(main, ["evaluate", "--model", str(DEFAULT), "--benchmark", str(bench), "--json",
                                      str(out), "--scores", str(tmp_path / f"{name}.scores.jsonl"),
                                      "--bootstrap", "10", "--no-progress", "--variant", "paper", "--variant",
                                      "ans_lm", *SHORT, *extra])
        assert r.exit_code == 0, r.output
        reports.append(json.loads(out.read_text())["rows"])
    assert reports[0] == reports[1]
    assert (tmp_path / "local.scores.jsonl").read_bytes() == (tmp_path / "ray.scores.jsonl").read_bytes()
