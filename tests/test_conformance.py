"""Conformance vectors: complete, consistent with `Scorer.score`, and the comparison catches drift."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from quals.cli import main
from quals.scorer import Scorer
from quals.search import SEARCHES
from quals.tasks.conformance import CASES, FORMAT, FORMAT_VERSION, compare, vectors


@pytest.fixture(scope="module")
def bart_doc(bart_bundle):
    scorer = Scorer.load(bart_bundle, threads=1)
    return scorer, vectors(scorer, name="bart", bundle_path=str(bart_bundle))


def test_document_shape(bart_doc):
    _, doc = bart_doc
    assert doc["format"] == FORMAT and doc["format_version"] == FORMAT_VERSION
    assert [c["name"] for c in doc["cases"]] == [c[0] for c in CASES]
    for case in doc["cases"]:
        assert [r["options"]["search"] for r in case["runs"]] == list(SEARCHES)
        for run in case["runs"]:
            hyps = run["hypotheses"]
            assert set(run["selected"]) <= set(run["span_valid"]) <= set(range(len(hyps)))
            assert [p["hypothesis"] for p in run["pairs"]] == run["selected"]
            for p in run["pairs"]:
                h = hyps[p["hypothesis"]]
                assert p["tokens"] == h["tokens"] and p["search_scores"] == h["token_scores"]
                assert len(p["logp_source"]) == len(p["logp_summary"]) == len(p["tokens"])
    statuses = {r["result"]["status"] for c in doc["cases"] for r in c["runs"]}
    assert {"ok", "no_qa_pairs", "error"} <= statuses
    json.dumps(doc, allow_nan=False)  # plain JSON: no NaN or infinity for another host's parser


def test_results_match_scorer(bart_doc, bart_bundle):
    """The vectors hold what `score` returns, for every search and variant."""
    _, doc = bart_doc
    for search in SEARCHES:
        for variant in ("paper", "clean", "ans_lm"):
            scorer = Scorer.load(bart_bundle, threads=1, search=search, variant=variant)
            results = scorer.score([c["source"] for c in doc["cases"]], [c["summary"] for c in doc["cases"]])
            for case, r in zip(doc["cases"], results):
                run = next(x for x in case["runs"] if x["options"]["search"] == search)
                assert run["result"]["status"] == r.status
                assert run["result"]["n_pairs"] == r.n_pairs
                assert run["result"]["quals"][variant] == pytest.approx(r.quals, abs=1e-12) if r.quals is not None \
                    else run["result"]["quals"][variant] is None


def test_regenerated_vectors_conform(bart_doc):
    scorer, doc = bart_doc
    again = vectors(scorer, name="bart", bundle_path=doc["bundle"]["path"])
    assert compare(doc, again) == []


@pytest.mark.parametrize(
    "mutate, expect",
    [
        (lambda d: d["tokenization"][1]["ids"].append(7), "tokenization[1].ids: length"),
        (lambda d: d["cases"][0]["runs"][0]["hypotheses"][0]["tokens"].__setitem__(0, -1), "hypotheses[0].tokens[0]"),
        (lambda d: _nudge(_first_pair(d)["logp_source"], 2e-4), "logp_source"),
        (lambda d: d["cases"][0]["runs"][1]["result"].__setitem__("status", "ok?"), "status"),
    ],
)
def test_compare_catches_drift(bart_doc, mutate, expect):
    _, doc = bart_doc
    other = copy.deepcopy(doc)
    mutate(other)
    diffs = compare(doc, other)
    assert diffs and expect in diffs[0]


def _nudge(xs, by):
    xs[0] += by


def _first_pair(doc):
    return next(p for c in doc["cases"] for r in c["runs"] for p in r["pairs"])


def test_cli_writes_vectors(bart_bundle, tmp_path):
    res = CliRunner().invoke(main, ["conformance", str(bart_bundle), str(tmp_path), "--name", "b", "--no-progress"])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "vectors.json").read_text(encoding="utf-8"))
    assert doc["bundle"]["name"] == "b" and doc["cases"]


def test_vectors_of_a_calibrated_bundle_carry_every_verdict_step(bart_bundle, tmp_path):
    """The verdict block recomputed from the vectors alone, as a host would: features -> logits -> p_supported
    -> verdicts -> p_consistent (docs/hosts.md, "Verdicts")."""
    import math
    import shutil

    import numpy as np
    from quals.bundle import load_bundle
    from quals.facts import common_words
    from quals.verdict import AGGREGATES, Calibration, write_calibration

    b = tmp_path / "b"
    shutil.copytree(bart_bundle, b)
    cal = Calibration(bundle=load_bundle(b).digest, features=("answer_diff", "question_diff", "answer_in_source"),
                      center=(-1.0, 0.0, 0.5), scale=(2.0, 1.0, 0.5), pair_weights=(1.0, 0.5, 2.0), pair_bias=0.1,
                      pair_thresholds=(0.4, 0.6), aggregate="softmin", summary_weights=(1.2,), summary_bias=0.3,
                      summary_thresholds=(0.45, 0.55), common_words=common_words())
    write_calibration(cal, b)
    doc = vectors(Scorer.load(b, threads=1), name="cal", bundle_path=str(b))
    assert doc["calibration"]["id"] == Scorer.load(b).calibration.id
    seen = 0
    for case in doc["cases"]:
        for run in case["runs"]:
            v, result = run["verdicts"], run["result"]
            n = len(run["pairs"]) + len(v["coverage"])
            if result["status"] != "ok":
                assert v["verdict"] is None and v["p_consistent"] is None and v["pairs"] == []
                continue
            seen += 1
            assert len(v["pairs"]) == n
            z = []
            for p in v["pairs"]:
                x = [(p["features"][f] - c) / s for f, c, s in zip(cal.features, cal.center, cal.scale)]
                z.append(float(np.dot(cal.pair_weights, x) + cal.pair_bias))
                assert p["logit"] == pytest.approx(z[-1])
                assert p["p_supported"] == pytest.approx(1 / (1 + math.exp(-z[-1])))
            agg = AGGREGATES[cal.aggregate](np.array(z))
            assert v["p_consistent"] == pytest.approx(1 / (1 + math.exp(-(1.2 * agg[0] + 0.3))))
            for c in v["coverage"]:  # a coverage pair asks about a fact of the summary, as written there
                assert case["summary"].strip()[c["fact"][0]:c["fact"][1]] == c["answer"]
                assert [f for f in v["facts"] if [f["start"], f["end"]] == c["fact"]]
    assert seen > 0
