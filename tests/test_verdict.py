"""The verdict mode (quals.verdict): features, the calibration file, the judgement, and the Scorer's fields."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil

import numpy as np
import pytest
from quals import Scorer
from quals.bundle import load_bundle
from quals.facts import common_words
from quals.search import Hypothesis
from quals.verdict import (
    CALIBRATION_NAME,
    FEATURES,
    Calibration,
    CalibrationError,
    PairEvidence,
    SourceText,
    load_calibration,
    words,
    write_calibration,
)

SMALL = dict(num_beams=4, num_groups=2, diversity=0.5, max_length=12, min_length=0)


def evidence(src, summ, *, q=2, answer="anna", source="Anna built it.", view=None, search=None):
    src, summ = np.asarray(src, dtype=float), np.asarray(summ, dtype=float)
    search = summ if search is None else np.asarray(search, dtype=float)
    return PairEvidence(src, summ, search, tuple(range(q)), tuple(range(q + 1, len(src) - 1)), answer,
                        SourceText.of(source, view if view is not None else source))


def calibration(bundle="b" * 64, **kw) -> Calibration:
    d = dict(bundle=bundle, features=("answer_diff", "answer_in_source"), center=(-1.0, 0.5), scale=(2.0, 0.5),
             pair_weights=(1.0, 2.0), pair_bias=0.25, pair_thresholds=(0.3, 0.7), aggregate="min+mean",
             summary_weights=(1.5, 0.5), summary_bias=-0.5, summary_thresholds=(0.4, 0.6),
             common_words=common_words())
    d.update(kw)
    return Calibration(**d)


def test_words_are_letters_and_decimal_digits_in_any_script():
    assert words("Anna's 2,500 km² run — São Paulo_X ½ ١٢٣") == ["Anna", "s", "2", "500", "km", "run", "São",
                                                                  "Paulo", "X", "١٢٣"]
    assert words("") == [] and words("...") == []


def test_features_read_the_right_tokens():
    # tokens: q q SEP a a EOS; answer_index = (3, 4)
    e = evidence([-1, -2, -3, -4, -6, -1], [-1, -1, -1, -2, -2, -1], answer="anna")
    assert FEATURES["answer_diff"](e) == pytest.approx(((-4 + 2) + (-6 + 2)) / 2)
    assert FEATURES["answer_source"](e) == pytest.approx(-5)
    assert FEATURES["answer_summary"](e) == pytest.approx(-2)
    assert FEATURES["question_diff"](e) == pytest.approx(((-1 + 1) + (-2 + 1)) / 2)
    pair_diff = np.mean([-1, -2, -3, -4, -6, -1]) - np.mean([-1, -1, -1, -2, -2, -1])
    assert FEATURES["pair_diff"](e) == pytest.approx(pair_diff)
    assert FEATURES["answer_in_source"](e) == 1.0
    assert FEATURES["answer_in_source"](evidence([0] * 6, [0] * 6, answer="tom")) == 0.0
    # the tokenizer's view of the source counts too (an uncased WordPiece drops the accent)
    assert FEATURES["answer_in_source"](evidence([0] * 6, [0] * 6, answer="sao", source="São Paulo",
                                                  view="sao paulo")) == 1.0
    # punctuation at the answer's ends is not part of the fact ("built it." is written "built it," there)
    trailing = evidence([0] * 6, [0] * 6, answer="built it.", source="Anna built it, then")
    assert FEATURES["answer_in_source"](trailing) == 1.0
    assert FEATURES["answer_in_source"](evidence([0] * 6, [0] * 6, answer="...", source="Anna ...")) == 0.0
    assert FEATURES["answer_words_in_source"](evidence([0] * 6, [0] * 6, answer="anna smith")) == 0.5
    assert FEATURES["answer_words_in_source"](evidence([0] * 6, [0] * 6, answer="?")) == 1.0
    no_answer = PairEvidence(np.zeros(3), np.ones(3), np.ones(3), (0,), (), "", SourceText.of("x", "x"))
    assert FEATURES["answer_diff"](no_answer) == 0.0 and FEATURES["answer_in_source"](no_answer) == 0.0


def test_the_judgement_is_the_documented_formula():
    cal = calibration()
    ev = [evidence([-1, -2, -3, -4, -6, -1], [-1, -1, -1, -2, -2, -1]),
          evidence([-1, -2, -3, -1, -1, -1], [-1, -1, -1, -1, -1, -1], answer="tom")]
    j = cal.judge(ev)
    z = []
    for e in ev:
        x = [(FEATURES["answer_diff"](e) + 1.0) / 2.0, (FEATURES["answer_in_source"](e) - 0.5) / 0.5]
        z.append(1.0 * x[0] + 2.0 * x[1] + 0.25)
    p_pairs = [1 / (1 + math.exp(-v)) for v in z]
    assert [pj.p_supported for pj in j.pairs] == pytest.approx(p_pairs)
    assert j.p_consistent == pytest.approx(1 / (1 + math.exp(-(1.5 * min(z) + 0.5 * np.mean(z) - 0.5))))
    bands = ["supported" if p >= 0.7 else "unsupported" if p < 0.3 else "uncertain" for p in p_pairs]
    assert [pj.verdict for pj in j.pairs] == bands
    assert j.verdict == ("consistent" if j.p_consistent >= 0.6 else
                         "inconsistent" if j.p_consistent < 0.4 else "uncertain")
    assert cal.judge([]) is None


def test_a_calibration_file_round_trips_and_bad_ones_are_refused(tmp_path):
    cal = calibration(provenance={"data": "x"})
    path = write_calibration(cal, tmp_path)
    assert path.name == CALIBRATION_NAME and not list(tmp_path.glob("*.tmp"))
    back = load_calibration(tmp_path, "b" * 64)
    assert back is not None and len(back.id) == 64
    assert back.to_dict() == cal.to_dict()
    assert load_calibration(tmp_path / "none", "b" * 64) is None
    with pytest.raises(CalibrationError, match="fitted for bundle bbbbbbbbbbbb"):
        load_calibration(tmp_path, "c" * 64)
    for bad, message in [("{", "corrupt"), ("[]", "not a JSON object"),
                         (json.dumps({**cal.to_dict(), "format_version": 2}), "version 1"),
                         (json.dumps({**cal.to_dict(), "pair": {}}), "malformed"),
                         (json.dumps({**cal.to_dict(), "features": ["nope", "answer_diff"]}), "unknown feature")]:
        path.write_text(bad)
        with pytest.raises(CalibrationError, match=message):
            load_calibration(tmp_path, "b" * 64)
    with pytest.raises(CalibrationError, match="thresholds"):
        calibration(pair_thresholds=(0.8, 0.2))
    with pytest.raises(CalibrationError, match="summary weight"):
        calibration(summary_weights=(1.0,))
    with pytest.raises(CalibrationError, match="aggregate"):
        calibration(aggregate="max")
    with pytest.raises(CalibrationError, match="common_words"):
        calibration(common_words=frozenset())


@pytest.fixture
def calibrated(bart_bundle, tmp_path):
    """A copy of the tiny bundle with a calibration (made up, but of the documented form; its thresholds make
    every band likely on the tiny model's numbers)."""
    b = tmp_path / "bundle"
    shutil.copytree(bart_bundle, b)
    digest = load_bundle(b).digest
    write_calibration(calibration(bundle=digest, pair_thresholds=(0.45, 0.55), summary_thresholds=(0.5, 0.5)), b)
    return b


SOURCE = "Anna Smith built a bridge in Paris in 1990. It cost four million francs."
SUMMARIES = ["Anna built a bridge in Paris.", "Tom built a bridge in Rome in 1990."]
PAIRS = (("Who built it?", "Anna"), ("Where is it?", "Paris"), ("Who built it?", "Tom"), ("Where is it?", "Rome"),
         ("When?", "1990"))


def with_fixed_pairs(scorer: Scorer) -> Scorer:
    """The tiny model's own search rarely writes a span-valid pair: give it these (as test_score does)."""
    m, c = scorer.manifest, scorer.codec
    hyps = [Hypothesis(tuple(c.text_ids(q) + [m.separator.id] + c.text_ids(a) + [m.tokens.eos]),
                       (-0.5,) * (len(c.text_ids(q)) + len(c.text_ids(a)) + 2), -0.5 - i)
            for i, (q, a) in enumerate(PAIRS)]
    scorer.search = lambda enc, opts: list(hyps)
    return scorer


def test_the_scorer_writes_the_verdict_fields_and_changes_no_number(calibrated):
    on = with_fixed_pairs(Scorer.load(calibrated))
    off = with_fixed_pairs(Scorer.load(calibrated, verdicts=False))
    assert on.calibration is not None and off.calibration is None
    assert on.signature() == off.signature().replace("|ep:", f"|cal:{on.calibration.id[:12]}|ep:")
    for r_on, r_off, summary in zip(on.score([SOURCE] * 2, SUMMARIES), off.score([SOURCE] * 2, SUMMARIES), SUMMARIES):
        assert r_on.quals == r_off.quals and r_on.status == "ok" and r_on.n_pairs >= 2
        d_on, d_off = r_on.to_dict(details=True), r_off.to_dict(details=True)
        assert d_off["verdict"] is None and d_off["p_consistent"] is None and d_off["unsupported"] is None
        assert all(p["verdict"] is None for p in d_off["pairs"])
        assert d_on["verdict"] in ("consistent", "inconsistent", "uncertain") and 0 <= d_on["p_consistent"] <= 1
        assert all(p["verdict"] in ("supported", "uncertain", "unsupported") for p in d_on["pairs"])
        unsupported = [p for p in d_on["pairs"] if p["verdict"] == "unsupported"]
        assert [(f["question"], f["answer"]) for f in d_on["unsupported"]] == [(p["question"], p["answer"])
                                                                                 for p in unsupported]
        for f in d_on["unsupported"]:
            if f["span"] is not None:
                assert summary[f["span"][0]:f["span"][1]].lower() == f["answer"].lower()
        # the names the source never mentions are the unsupported facts, with their place in the summary
        expected = [] if summary == SUMMARIES[0] else [("Tom", [0, 3]), ("Rome", [22, 26])]
        assert [(f["answer"], f["span"]) for f in d_on["unsupported"]] == expected
        assert d_on["verdict"] == ("consistent" if summary == SUMMARIES[0] else "inconsistent")
        # every variant's view keeps the verdicts (they read no S_y)
        clean = r_on.for_variant("clean")
        assert (clean.verdict, clean.p_consistent) == (r_on.verdict, r_on.p_consistent)


def test_a_record_without_pairs_or_with_an_error_has_null_verdicts(calibrated):
    on = Scorer.load(calibrated, **SMALL)
    on.search = lambda enc, opts: []
    r = on.score_one(SOURCE, "Anna.")
    assert r.status == "no_qa_pairs" and (r.verdict, r.p_consistent, r.unsupported) == (None, None, None)
    r = on.score_one("", "Anna.")
    assert r.status == "error" and r.to_dict()["verdict"] is None


def test_a_calibration_of_another_bundle_is_refused_at_load(calibrated, bart_bundle, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(bart_bundle, other)
    shutil.copy(calibrated / CALIBRATION_NAME, other / CALIBRATION_NAME)
    manifest = json.loads((other / "quals.json").read_text())
    manifest["score_defaults"] = {**manifest.get("score_defaults", {}), "max_pairs": 11}
    (other / "quals.json").write_text(json.dumps(manifest))
    with pytest.raises(CalibrationError, match="refit it"):
        Scorer.load(other)
    assert Scorer.load(other, verdicts=False).calibration is None


def test_the_explain_page_marks_only_unsupported_and_uncertain_facts(calibrated):
    from quals.tasks.explain import from_result, render_html

    on = with_fixed_pairs(Scorer.load(calibrated))
    page = render_html(from_result(on.score_one(SOURCE, SUMMARIES[1]), SOURCE, SUMMARIES[1], on))
    assert "unsupported fact" in page and "inconsistent" in page and f"cal:{on.calibration.id[:12]}" in page
    marked = re.findall(r"<mark [^>]*>([^<]*)</mark>", page)
    assert marked == ["Tom", "Rome"]  # 1990 is supported: not marked
    page = render_html(from_result(on.score_one(SOURCE, SUMMARIES[0]), SOURCE, SUMMARIES[0], on))
    assert re.findall(r"<mark [^>]*>([^<]*)</mark>", page) == []
    # a fact only a coverage pair asks about is marked too, and its pair is on the page
    summary = "Tom built a bridge in Rome in 1990 for 4 million francs."
    e = from_result(on.score_one(SOURCE, summary), SOURCE, summary, on)
    assert [c.answer for c in e.coverage] == ["4 million"] and e.coverage[0].rank == len(e.pairs)
    page = render_html(e)
    assert re.findall(r"<mark [^>]*>([^<]*)</mark>", page) == ["Tom", "Rome", "4 million"]
    assert "(coverage)" in page and "for how much francs?" in page
    off = with_fixed_pairs(Scorer.load(calibrated, verdicts=False))
    page = render_html(from_result(off.score_one(SOURCE, SUMMARIES[1]), SOURCE, SUMMARIES[1], off))
    assert "has no calibration" in page and "unsupported fact" not in page


def test_every_fact_is_checked_by_a_pair_and_the_quals_number_stays(calibrated):
    on = with_fixed_pairs(Scorer.load(calibrated))
    off = with_fixed_pairs(Scorer.load(calibrated, verdicts=False))
    summary = "Tom built a bridge in Rome in 1990 for 4 million francs."  # "4 million": no pair asks
    r_on, r_off = on.score_one(SOURCE, summary), off.score_one(SOURCE, summary)
    assert r_on.quals == r_off.quals and r_on.n_pairs == r_off.n_pairs and r_off.coverage == ()
    assert [(c.question, c.answer) for c in r_on.coverage] == [
        ("Tom built a bridge in Rome in 1990 for how much francs?", "4 million")]
    cov = r_on.coverage[0]
    assert cov.verdict in ("supported", "uncertain", "unsupported")
    assert cov.s_y == pytest.approx(np.mean(cov.logp_summary)) and cov.value == cov.s_x - cov.s_y
    d = r_on.to_dict(details=True)
    assert [p["answer"] for p in d["coverage_pairs"]] == ["4 million"]
    # the source writes "four million": not the same text, and the made-up calibration reads it as unsupported
    assert cov.verdict == "unsupported"
    assert {"question": cov.question, "answer": "4 million", "span": [39, 48]} in d["unsupported"]
    # the coverage pairs are teacher-forced in calls of their own: the selected pairs' numbers are unchanged
    assert [p.logp_source for p in r_on.pairs] == [p.logp_source for p in r_off.pairs]
    assert [p.logp_summary for p in r_on.pairs] == [p.logp_summary for p in r_off.pairs]
    # lower case (Goyal21): a fact is still found without capitals
    low = on.score_one(SOURCE.lower(), "tom built a bridge in rome in 1990 for 4 million francs.")
    assert "4 million" in [c.answer for c in low.coverage]


def test_coverage_pairs_without_verdicts_are_what_a_fit_reads(calibrated, bart_bundle):
    """--coverage-pairs without a calibration gives the same coverage pairs and numbers as the verdict mode."""
    plain = with_fixed_pairs(Scorer.load(bart_bundle, coverage_pairs=True))
    judged = with_fixed_pairs(Scorer.load(calibrated))
    summary = "Tom built a bridge in Rome in 1990 for 4 million francs."
    a, b = plain.score_one(SOURCE, summary), judged.score_one(SOURCE, summary)
    assert a.verdict is None and b.verdict is not None
    strip = [dataclasses.replace(c, verdict=None, p_supported=None) for c in b.coverage]
    assert list(a.coverage) == strip and a.coverage
    assert plain.signature() == Scorer.load(bart_bundle).signature()  # it changes no number


def test_a_long_sentence_gets_a_coverage_question_from_the_words_around_the_fact(bart_bundle):
    from quals.coverage import coverage_targets

    codec = Scorer.load(bart_bundle).codec
    words = " ".join(f"word{i}" for i in range(20))
    summary = f"{words} met Anna Smith in Oslo {words}."
    targets = coverage_targets(summary, [], codec, 3)
    assert [t.answer for t in targets] == ["Anna Smith", "Oslo"]
    q = targets[0].question
    # 12 words on each side of "Anna Smith": word9 .. word19 and "met" before it, "in Oslo word0 .. word9" after
    assert q == " ".join(["Word9", *(f"word{i}" for i in range(10, 20)), "met what in Oslo",
                          *(f"word{i}" for i in range(10))]) + "?"
    # a sentence too short for a question borrows the sentence before it (the first one: the one after it)
    targets = coverage_targets("The minister visited the islands on Friday. Caledonia.", [], codec, 3)
    assert [(t.question, t.answer) for t in targets] == [
        ("The minister visited the islands on when?", "Friday"),
        ("The minister visited the islands on Friday. what?", "Caledonia")]
    targets = coverage_targets("Caledonia. The minister visited the islands.", [], codec, 3)
    assert [(t.question, t.answer) for t in targets] == [("What. The minister visited the islands?", "Caledonia")]


def test_the_calibrations_word_list_decides_the_facts_of_lower_case_text(bart_bundle):
    """Without capitals a name is a word the list lacks: the calibration's list, which its id names, decides."""
    from quals.coverage import coverage_targets

    codec = Scorer.load(bart_bundle).codec
    summary = "tom met the minister in oslo on friday."
    default = coverage_targets(summary, [], codec, 3)
    assert [t.answer for t in default] == ["tom", "oslo", "friday"]
    knows_oslo = coverage_targets(summary, [], codec, 3, common_words() | {"oslo"})
    assert [t.answer for t in knows_oslo] == ["tom", "friday"]
