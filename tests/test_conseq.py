"""ConSeq's S+/S- sets (quals-spec 7.1): the selection rules on hand-made scores, the no-pair policy, and
`quals conseq` end to end (files aligned, deterministic, resumable)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from quals.cli import main
from quals.tasks import conseq as cq

SMALL = ["--num-beams", "4", "--num-groups", "2", "--diversity", "0.5", "--max-length", "12", "--min-length", "0"]


def s(q):
    """A summary's scored record: a number, or None for no QA pair."""
    return {"quals": q, "status": "ok" if q is not None else "no_qa_pairs", "n_pairs": 0 if q is None else 3}


def doc(i, ref, cands):
    return {"index": i, "id": f"d{i}", "status": "ok", "reference": s(ref), "candidates": [s(c) for c in cands]}


RECORDS = [
    doc(0, 0.5, [-1.0, -3.0, None]),  # worst -3.0 (candidate 1); the no-pair candidate is skipped
    doc(1, -2.0, [-0.5, -0.2]),  # worst -0.5
    doc(2, 0.9, [None, None]),  # no candidate has a score: never a negative (their code: +1e5)
    doc(3, None, [-4.0]),  # no reference score: never a positive
    doc(4, 0.1, [-3.0, -2.0]),  # worst -3.0 ties with document 0: input order decides
    doc(5, 0.7, [-2.5]),
    {"index": 6, "id": "d6", "status": "error", "error": "line 7: missing field(s): candidates"},
    doc(7, -0.1, [0.2, 0.3]),
    doc(8, 0.3, [-1.5]),
    doc(9, 0.8, [-2.9]),
]


def test_selection_follows_the_authors_rules():
    sel = cq.select_documents(RECORDS, 0.3, 0.3)
    assert sel.k_neg == sel.k_pos == 3  # round(0.3 * 10): N counts every document, as theirs does
    # Ascending worst candidate: d3 -4.0, d0 -3.0, d4 -3.0 (tie: input order), d9 -2.9, ...
    assert sel.neg == {3: 0, 0: 1, 4: 0}
    assert sel.threshold_neg == -3.0
    # Descending reference: d2 0.9, d9 0.8, d5 0.7, d0 0.5, ...; d3 (no score) never
    assert sel.pos == [2, 9, 5] and sel.threshold_pos == 0.7
    assert sel.used == []  # no document is in both with these ratios
    sel = cq.select_documents(RECORDS, 0.5, 0.5)
    assert set(sel.neg) == {3, 0, 4, 9, 5} and sel.pos == [2, 9, 5, 0, 8]
    assert sel.used == [0, 5, 9]  # in input order
    c = sel.counts
    assert c["unusable_documents"] == 1 and c["documents_with_a_scored_candidate"] == 8
    assert c["candidates"] == {"ok": 12, "no_qa_pairs": 3} and c["references"] == {"ok": 8, "no_qa_pairs": 1}


def test_separate_sets_and_ratio_checks():
    sel = cq.select_documents(RECORDS, 0.3, 0.3, intersect=False)
    assert sel.used == [0, 2, 3, 4, 5, 9]
    with pytest.raises(Exception, match="between 0 and 1"):
        cq.select_documents(RECORDS, 1.5, 0.3)


def test_more_ratio_than_scored_documents_never_selects_a_document_without_a_score():
    recs = [doc(0, 0.1, [None]), doc(1, None, [-1.0]), doc(2, 0.2, [-2.0])]
    sel = cq.select_documents(recs, 1.0, 1.0)
    assert sel.k_neg == 3 and set(sel.neg) == {1, 2} and sel.pos == [2, 0] and sel.used == [2]


def _docs(tmp_path, n=6):
    recs = []
    for i in range(n):
        recs.append({"id": f"doc{i}", "source": f"Anna built bridge number {i} in Paris.\nTom paid for it.",
                     "reference": f"Anna built bridge {i}.", "candidates": [f"Tom built bridge {i}.",
                                                                            f"Anna built\nit in {i}."]})
    recs.insert(2, {"id": "bad", "source": "x"})
    p = tmp_path / "docs.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return p, recs


def test_conseq_cli_writes_aligned_files_and_a_report(bart_bundle, tmp_path, monkeypatch):
    inp, recs = _docs(tmp_path)
    out = tmp_path / "out"
    # The tiny random model finds no QA pair: give every summary a score from its text, through the real
    # scorer's output records, so the selection and the files are exercised end to end.
    from quals.scorer import Result, Scorer

    real = Scorer.score

    def fake(self, sources, summaries, **kw):
        res = real(self, sources, summaries, **kw)
        return [Result(float(-len(m)), "ok", 1, variant=r.variant) for r, m in zip(res, summaries)]

    monkeypatch.setattr(Scorer, "score", fake)
    r = CliRunner().invoke(main, ["conseq", "--model", str(bart_bundle), "--input", str(inp), "--out", str(out),
                                  "--neg-ratio", "0.5", "--pos-ratio", "0.5", "--no-progress", *SMALL])
    assert r.exit_code == 1, r.output  # the bad document is an error record
    scored = [json.loads(x) for x in (out / "scored.jsonl").read_text().splitlines()]
    assert [x["id"] for x in scored] == [x["id"] for x in recs]
    assert scored[2]["status"] == "error" and "missing field(s)" in scored[2]["error"]
    assert all(len(x["candidates"]) == 2 for x in scored if x["status"] == "ok")
    src, tgt, untgt = ((out / f).read_text().split("\n")[:-1] for f in ("train.source", "train.target",
                                                                          "train.untarget"))
    report = json.loads((out / "report.json").read_text())
    assert len(src) == len(tgt) == len(untgt) == report["counts"]["used"] > 0
    by_source = {x["source"].replace("\n", " "): x for x in recs if "reference" in x}
    for a, b, c in zip(src, tgt, untgt):
        d = by_source[a]
        assert b == d["reference"]
        worst = min(d["candidates"], key=lambda m: -len(m))  # the longest has the lowest fake score
        assert c == worst.replace("\n", " ")
    assert report["files"]["texts_with_line_breaks_replaced"] > 0
    assert report["counts"]["documents"] == 7 and report["k_neg"] == 4  # round(0.5 * 7), banker's: 4
    first = (out / "train.untarget").read_bytes()
    r = CliRunner().invoke(main, ["conseq", "--model", str(bart_bundle), "--input", str(inp), "--out", str(out),
                                  "--no-progress", *SMALL])
    assert r.exit_code == 2 and "--resume" in r.stderr  # never silently over an earlier run
    # Resume after a kill: a whole line and a torn one left; the rest is scored, the result is the same.
    lines = (out / "scored.jsonl").read_bytes().split(b"\n")
    (out / "scored.jsonl").write_bytes(lines[0] + b"\n" + lines[1][:10])
    r = CliRunner().invoke(main, ["conseq", "--model", str(bart_bundle), "--input", str(inp), "--out", str(out),
                                  "--neg-ratio", "0.5", "--pos-ratio", "0.5", "--resume", "--no-progress", *SMALL])
    assert r.exit_code == 1 and "resuming" in r.stderr
    assert [json.loads(x) for x in (out / "scored.jsonl").read_text().splitlines()] == scored
    assert (out / "train.untarget").read_bytes() == first


def test_conseq_without_pairs_selects_nothing_and_says_so(bart_bundle, tmp_path):
    inp, _ = _docs(tmp_path, 3)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["conseq", "--model", str(bart_bundle), "--input", str(inp), "--out", str(out),
                                  "--no-progress", *SMALL])
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["candidates"] == {"no_qa_pairs": 6} and report["counts"]["used"] == 0
    assert (out / "train.source").read_text() == "" and r.exit_code == 1  # the bad document


def test_an_empty_set_says_why_and_how_many_documents_it_needs():
    assert cq.empty_sets(cq.select_documents(RECORDS, 0.5, 0.5), 0.5, 0.5, intersect=True) == []
    (disjoint,) = cq.empty_sets(cq.select_documents(RECORDS, 0.3, 0.3), 0.3, 0.3, intersect=True)
    assert "no document is in both S+ (3) and S- (3)" in disjoint
    assert cq.empty_sets(cq.select_documents(RECORDS, 0.3, 0.3, intersect=False), 0.3, 0.3, intersect=False) == []
    two = RECORDS[:2]
    lines = cq.empty_sets(cq.select_documents(two, 0.1, 0.3), 0.1, 0.3, intersect=True)
    assert lines == ["S- is empty: k = round(0.1 x 2 documents) = 0; it needs at least 6 documents at this ratio"]
    unscored = [doc(0, None, [None]), doc(1, None, [None])]
    lines = cq.empty_sets(cq.select_documents(unscored, 0.5, 0.5), 0.5, 0.5, intersect=True)
    assert len(lines) == 2 and all("none of the 2 documents has a scored" in x for x in lines)


def test_training_files_of_the_other_layout_are_removed(tmp_path):
    docs = [cq.Document(i, f"d{i}", "src", "ref", ("cand",)) for i in range(3)]
    sel = cq.select_documents([doc(i, 0.1 * i, [-1.0 * i]) for i in range(3)], 0.5, 0.5)
    cq.write_training_files(docs, sel, tmp_path, intersect=False)
    assert (tmp_path / "target.source").exists()
    cq.write_training_files(docs, sel, tmp_path, intersect=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.source", "train.target", "train.untarget"]
