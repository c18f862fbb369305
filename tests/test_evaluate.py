"""The benchmark harness: reading benchmarks, sampling, the report, and `quals evaluate` end to end."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from quals.cli import main
from quals.errors import InputError
from quals.search import Hypothesis
from quals.tasks import evaluate as ev
from quals.tasks import metrics

SMALL = ["--num-beams", "4", "--num-groups", "2", "--diversity", "0.5", "--max-length", "12", "--min-length", "0"]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_load_benchmark_names_the_bad_line(tmp_path):
    good = {"source": "s", "summary": "t", "label": 1}
    cases = [
        ("not json", "2: not JSON"),
        (json.dumps({"source": "s", "label": 1}), "2: missing field(s) summary"),
        (json.dumps({**good, "label": "yes"}), "2: label must be a finite number"),
        (json.dumps({**good, "label": True}), "2: label must be a finite number"),
        (json.dumps({**good, "summary": 3}), "2: source and summary must be strings"),
    ]
    for line, message in cases:
        p = tmp_path / "b.jsonl"
        p.write_text(json.dumps(good) + "\n" + line + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=re.escape(message)):
            ev.load_benchmark(p)
    with pytest.raises(InputError, match="no records"):
        ev.load_benchmark(_write(tmp_path / "e.jsonl", []))


def test_subsample_is_seeded_stratified_and_in_order(tmp_path):
    rows = [{"source": "s", "summary": f"t{i}", "label": int(i % 10 == 0), "origin": "a" if i < 60 else "b"}
            for i in range(100)]
    recs = ev.load_benchmark(_write(tmp_path / "b.jsonl", rows))
    s1, s2 = ev.subsample(recs, 20, seed=1), ev.subsample(recs, 20, seed=1)
    assert s1 == s2 and len(s1) == 20
    assert [r.index for r in s1] == sorted(r.index for r in s1)
    assert sum(r.origin == "a" for r in s1) == 12  # 60% of the file
    assert sum(r.label == 1 for r in s1) == 2  # 10% positives, both origins represented
    assert ev.subsample(recs, 1000, seed=1) == recs
    for limit in (1, 2, 3, 7):  # more strata than records asked for: still exactly `limit`
        assert len(ev.subsample(recs, limit, seed=0)) == limit


def _scored(values, labels, origins, status=None):
    out = []
    for i, (v, y, o) in enumerate(zip(values, labels, origins)):
        r = ev.Record("bench", i, str(i), "s", "t", float(y), o)
        st = status[i] if status else ("ok" if v is not None else "no_qa_pairs")
        out.append(ev.ScoredRecord(r, st, {"paper": v}, 0 if v is None else 3))
    return out


def test_report_rows_per_origin_and_no_pair_records_counted_not_scored():
    rng = np.random.default_rng(0)
    labels = (rng.random(60) < 0.5).astype(int)
    values = list(rng.normal(size=60) + labels)
    values[0] = None
    origins = ["cnndm"] * 30 + ["xsum"] * 30
    rows = ev.report(_scored(values, labels, origins), ["paper"], n_resamples=50, seed=0)
    assert [(r.origin, r.n, r.n_no_pairs) for r in rows] == [("all", 60, 1), ("cnndm", 30, 1), ("xsum", 30, 0)]
    x = np.array(values[1:], dtype=float)
    assert rows[0].metrics["roc_auc"].value == pytest.approx(metrics.roc_auc(x, labels[1:]))
    assert rows[0].kind == "binary" and set(rows[0].metrics) == {"roc_auc", "bacc"}
    assert rows[0].threshold is not None
    table = ev.format_table(rows)
    assert table.splitlines()[0].split()[:4] == ["benchmark", "origin", "variant", "n"]
    assert len(table.splitlines()) == 4


def test_graded_labels_get_correlations():
    rng = np.random.default_rng(1)
    labels = rng.integers(1, 6, size=40).astype(float)
    values = list(labels + rng.normal(size=40))
    rows = ev.report(_scored(values, labels, ["x"] * 40), ["paper"], n_resamples=20, seed=0)
    assert rows[0].kind == "graded" and set(rows[0].metrics) == {"pearson", "spearman"}
    assert rows[0].metrics["spearman"].value > 0.5


def test_cli_evaluate_end_to_end(bart_bundle, tmp_path):
    rows = [{"id": f"r{i}", "source": "Anna built a bridge in Paris in 1990.", "summary": "Anna built a bridge.",
             "label": i % 2, "origin": "cnndm" if i < 4 else "xsum"} for i in range(6)]
    bench = _write(tmp_path / "tiny.jsonl", rows)
    out_json, out_scores = tmp_path / "r.json", tmp_path / "s.jsonl"
    r = CliRunner().invoke(main, ["evaluate", "--model", str(bart_bundle), "--benchmark", str(bench), *SMALL,
                                  "--bootstrap", "10", "--json", str(out_json), "--scores", str(out_scores)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out_json.read_text())
    assert {(x["origin"], x["variant"]) for x in doc["rows"]} == {
        (o, v) for o in ("all", "cnndm", "xsum") for v in ("paper", "clean")
    }
    assert doc["rows"][0]["n"] == 6 and doc["signature"].startswith("quals|")
    assert len(out_scores.read_text().splitlines()) == 6
    assert "tiny" in r.stdout and "no_pairs" in r.stdout


def test_cli_evaluate_bad_benchmark_is_a_usage_error(bart_bundle, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["evaluate", "--model", str(bart_bundle), "--benchmark", str(bad)])
    assert r.exit_code == 2 and "missing field(s)" in r.stderr


def test_variants_from_one_pass_equal_separate_runs(bart_bundle):
    """All variants come from one scoring pass; each equals a run with that variant."""
    from quals import Scorer

    def injected(variant):
        scorer = Scorer.load(bart_bundle, variant=variant)
        m, c = scorer.manifest, scorer.codec
        toks = tuple(c.text_ids("Who built it?") + [m.separator.id] + c.text_ids("Anna") + [m.tokens.eos])
        hyp = Hypothesis(toks, tuple(-0.5 - 0.1 * i for i in range(len(toks))), -1.0, True)
        scorer.search = lambda enc, opts: [hyp]
        return scorer

    recs = [ev.Record("b", 0, "0", "Anna built a bridge in Paris.", "Anna built a bridge.", 1.0, "all")]
    got = ev.score_records(injected("paper"), recs, ["paper", "clean", "ans_lm"])[0]
    for v in ("paper", "clean", "ans_lm"):
        alone = injected(v).score_one(recs[0].source, recs[0].summary)
        assert got.scores[v] == pytest.approx(alone.quals, abs=1e-12)


def _lines(path):
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_cli_evaluate_resume_and_reuse(bart_bundle, tmp_path):
    """A killed run continues from its --scores lines; a sample takes its records from the whole run's lines;
    lines of another signature or of other records are refused, not mixed in."""
    rows = [{"id": f"r{i}", "source": f"Anna built bridge {i} in Paris in 19{50 + i}.",
             "summary": f"Anna built bridge {i}.", "label": i % 2, "origin": "cnndm"} for i in range(8)]
    bench = _write(tmp_path / "tiny.jsonl", rows)
    base = ["evaluate", "--model", str(bart_bundle), "--benchmark", str(bench), *SMALL, "--bootstrap", "10"]
    full = tmp_path / "full.jsonl"
    r = CliRunner().invoke(main, [*base, "--scores", str(full), "--json", str(tmp_path / "full.json")])
    assert r.exit_code == 0, r.output
    lines = _lines(full)
    signature = json.loads((tmp_path / "full.json").read_text())["signature"]
    assert [x["id"] for x in lines] == [f"r{i}" for i in range(8)] and {x["signature"] for x in lines} == {signature}

    # killed after 3 records, the 4th line torn; a sentinel proves that kept lines are taken, not rescored
    killed = tmp_path / "killed.jsonl"
    kept = [dict(x) for x in lines[:3]]
    kept[1]["quals"] = {"paper": 123.0, "clean": 123.0}
    killed.write_text("".join(json.dumps(x) + "\n" for x in kept) + json.dumps(lines[3])[:20], encoding="utf-8")
    r = CliRunner().invoke(main, [*base, "--scores", str(killed), "--resume", "--json", str(tmp_path / "k.json")])
    assert r.exit_code == 0, r.output
    assert "3 of the 8 records already scored" in r.stderr and "5 records scored" in r.stderr
    got = _lines(killed)
    assert [x["id"] for x in got] == [x["id"] for x in lines]
    assert got[1]["quals"]["paper"] == 123.0 and [x["quals"] for x in got[3:]] == [x["quals"] for x in lines[3:]]
    doc = json.loads((tmp_path / "k.json").read_text())
    assert (doc["n_scored"], doc["n_reused"]) == (5, 3)

    sample = tmp_path / "sample.jsonl"
    r = CliRunner().invoke(main, [*base, "--limit", "4", "--scores", str(sample), "--reuse-scores", str(full)])
    assert r.exit_code == 0, r.output
    assert "4 of the 4 records already scored" in r.stderr and "0 records scored" in r.stderr
    assert all(x in lines for x in _lines(sample)) and len(_lines(sample)) == 4

    other = tmp_path / "other.jsonl"
    other.write_text("".join(json.dumps({**x, "signature": "quals|bundle:other"}) + "\n" for x in lines))
    r = CliRunner().invoke(main, [*base, "--reuse-scores", str(other)])
    assert r.exit_code == 2 and "scored with 'quals|bundle:other'" in r.stderr
    relabelled = tmp_path / "relabelled.jsonl"
    relabelled.write_text("".join(json.dumps({**x, "label": 1 - x["label"]}) + "\n" for x in lines))
    r = CliRunner().invoke(main, [*base, "--reuse-scores", str(relabelled)])
    assert r.exit_code == 2 and "another label or origin" in r.stderr
    r = CliRunner().invoke(main, [*base, "--resume"])
    assert r.exit_code == 2 and "--resume needs --scores" in r.stderr


def test_score_records_reports_each_record_as_it_is_scored(bart_bundle):
    from quals import Scorer

    scorer = Scorer.load(bart_bundle, num_beams=4, num_groups=2, max_length=12, min_length=0)
    recs = [ev.Record("b", i, str(i), "Anna built a bridge in Paris.", "Anna built a bridge.", 1.0, "all")
            for i in range(5)]
    taken = ev.ScoredRecord(recs[2], "ok", {"paper": 7.0}, 1)
    seen = []
    out = ev.score_records(scorer, recs, ["paper"], batch_size=2, done={2: taken}, on_scored=seen.append)
    assert [s.record.id for s in seen] == ["0", "1", "3", "4"] and out[2] is taken
    assert [s.record.id for s in out] == ["0", "1", "2", "3", "4"]


def test_benchmark_lines_may_hold_raw_unicode_line_separators(tmp_path):
    """json.dumps(ensure_ascii=False) writes U+2028/U+2029/NEL raw inside strings: still one record per line."""
    rec = {"id": "a", "source": "Anna built it.\u2028Then\u2029she left.\x85", "summary": "Anna built it.", "label": 1}
    path = tmp_path / "b.jsonl"
    path.write_text("\ufeff" + json.dumps(rec, ensure_ascii=False) + "\r\n", encoding="utf-8")
    (r,) = ev.load_benchmark(path)
    assert r.source == rec["source"] and r.id == "a"


def test_an_undefined_metric_says_why():
    import numpy as np

    one_class = ev.undefined_because(np.array([0.1, 0.2, 0.3]), np.array([1.0, 1.0, 1.0]), "binary", 4)
    assert "label 1" in one_class and "both classes" in one_class
    assert "at least 2" in ev.undefined_because(np.array([0.1]), np.array([1.0]), "binary", 5)
    assert ev.undefined_because(np.array([0.1, 0.2]), np.array([0.0, 1.0]), "binary", 2) is None
    assert "same score" in ev.undefined_because(np.array([0.5, 0.5]), np.array([0.0, 1.0]), "binary", 2)
