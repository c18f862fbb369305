import gzip
import json

import pytest
from quals import Scorer
from quals.train import qa_quality
from quals.train.data import read_jsonl


def _rows():
    ctx = ["Ada Lovelace wrote the first program in 1843.", "The river Thames flows through London."]
    return [{"id": "a", "context": ctx[0], "question": "Who wrote it?", "answers": {"text": ["Ada Lovelace"]}},
            {"id": "b", "context": ctx[0], "question": "When?", "answers": {"text": ["1843"]}},
            {"id": "c", "context": ctx[1], "question": "Where?", "answers": {"text": ["London"]}}]


def test_reads_plain_gzipped_and_bom_files(tmp_path):
    text = "".join(json.dumps(r) + "\n" for r in _rows())
    (tmp_path / "a.jsonl").write_text("\ufeff" + text + "\n", encoding="utf-8")
    with gzip.open(tmp_path / "a.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(text)
    assert read_jsonl(tmp_path / "a.jsonl") == read_jsonl(tmp_path / "a.jsonl.gz") == _rows()


def test_gold_nll_over_a_sample_of_contexts(bart_bundle):
    scorer = Scorer.load(bart_bundle)
    full = qa_quality.measure(scorer, _rows(), n_contexts=1, n_samples=1, seed=0)
    assert full["n_gold_pairs"] == 3 and full["gold_nll_per_token"] > 0 and 0 <= full["span_rate"] <= 1
    one = qa_quality.measure(scorer, _rows(), n_contexts=1, n_samples=1, seed=0, gold_contexts=1)
    assert one["n_gold_pairs"] in (1, 2) and one["gold_nll_per_token"] != pytest.approx(full["gold_nll_per_token"])


def test_squad_files_with_a_plain_list_of_answers_are_read(bart_bundle):
    """The shared SQuAD 1.1 and SQuADShifts files hold `answers` as a list, XQuAD and FairytaleQA as a dict: both
    give the same gold pairs."""
    scorer = Scorer.load(bart_bundle)
    as_list = [{**r, "answers": r["answers"]["text"] + ["other"], "answer_start": 0} for r in _rows()]
    a = qa_quality.measure(scorer, _rows(), n_contexts=1, n_samples=1, seed=0)
    b = qa_quality.measure(scorer, as_list, n_contexts=1, n_samples=1, seed=0)
    assert a["gold_nll_per_token"] == b["gold_nll_per_token"] and a["n_gold_pairs"] == b["n_gold_pairs"] == 3
    assert [s["gold_answer"] for s in b["samples"]] == [s["gold_answer"] for s in a["samples"]]
