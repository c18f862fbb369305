"""The signature names every option that changes a number (quals.signature), and only those."""

from __future__ import annotations

import dataclasses

import pytest
from quals import Scorer
from quals.options import QualsOptions
from quals.search import Hypothesis, SearchOptions
from quals.signature import FIELDS, NOT_SIGNED, provider_name

SOURCE = "Anna Smith built a bridge in Paris in 1990. It cost four million francs and opened in May."
SUMMARY = "Anna Smith built a bridge in Paris in 1990."
# field -> another valid value than the default options' (hf search, so that its own fields count)
CHANGED = {"search": "fairseq", "num_beams": 8, "num_groups": 2, "diversity": 0.25, "min_length": 3,
           "max_length": 30, "length_penalty": 2.0, "num_return": 2, "early_stopping": True, "variant": "clean",
           "max_pairs": 3, "max_source_tokens": 40}


def test_every_option_field_is_signed_or_says_why_not():
    fields = {f.name for f in dataclasses.fields(QualsOptions)} | {f.name for f in dataclasses.fields(SearchOptions)}
    assert fields == set(FIELDS) | set(NOT_SIGNED)
    assert not set(FIELDS) & (set(NOT_SIGNED) - {"search"})
    assert all(reason.strip() for reason in NOT_SIGNED.values())


@pytest.fixture(scope="module")
def hf_scorer(bart_bundle):
    return Scorer.load(bart_bundle, search="hf", num_beams=4, num_groups=4, max_length=20)


@pytest.mark.parametrize("name", sorted(CHANGED))
def test_changing_a_signed_field_changes_the_signature(hf_scorer, name):
    base = hf_scorer.signature()
    other = Scorer.load(hf_scorer.bundle.path, **{"search": "hf", "num_beams": 4, "num_groups": 4, "max_length": 20,
                                                   name: CHANGED[name]})
    assert other.signature() != base, name


def test_the_default_signature_keeps_its_parts(bart_bundle):
    """fairseq (the default search) returns every beam and has no early stopping: those fields change nothing
    there and stay out, so the signatures of scores files written before stay valid."""
    sig = Scorer.load(bart_bundle).signature()
    keys = [part.split(":")[0] for part in sig.split("|")]
    assert keys == ["quals", "bundle", "search", "beams", "groups", "div", "len", "lp", "variant", "pairs", "src",
                    "ep", "ort", "version"]


def test_rescore_rows_changes_no_number(bart_bundle):
    """The one field left out: how many teacher-forced rows share a decoder call (pairs injected: the tiny random
    model writes none that pass the span test)."""
    results = []
    for rows in (1, 3, 64):
        scorer = Scorer.load(bart_bundle, rescore_rows=rows)
        m, c = scorer.manifest, scorer.codec
        hyps = [Hypothesis(tuple(c.text_ids(q) + [m.separator.id] + c.text_ids(a) + [m.tokens.eos]),
                           (-0.5,) * (len(c.text_ids(q)) + len(c.text_ids(a)) + 2), -0.5)
                for q, a in (("Who built it?", "Anna Smith"), ("Where?", "Paris"), ("When?", "1990"),
                             ("What did she build?", "a bridge"))]
        scorer.search = lambda enc, opts, hyps=hyps: list(hyps)
        results.append(scorer.score_one(SOURCE, SUMMARY).to_dict(details=True))
    assert results[0]["n_pairs"] == 4
    assert results[0] == results[1] == results[2]


def test_a_provider_is_named_as_it_is():
    assert provider_name("CPUExecutionProvider") == "cpu" and provider_name("CUDAExecutionProvider") == "cuda"
    assert provider_name("OpenVINOExecutionProvider") == "OpenVINOExecutionProvider"
