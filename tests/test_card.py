"""The model card's and README's measured sections are written from the evaluation reports, never typed."""

from __future__ import annotations

import json

import pytest
from quals.train import card


def _report(aucs: dict[tuple[str, str, str], float], seconds: float = 60.0, workers: int = 2,
            signature: str = "quals|bundle:x") -> dict:
    rows = [{"benchmark": b, "origin": o, "variant": v, "label_kind": "binary", "n": 10, "n_no_pairs": 1,
             "n_errors": 0, "metrics": {"roc_auc": {"value": a, "ci95": [a - 0.1, a + 0.1]},
                                        "bacc": {"value": 0.6, "ci95": [0.5, 0.7]}}, "bacc_threshold": -1.0}
            for (b, o, v), a in aucs.items()]
    return {"signature": signature, "benchmarks": [], "limit": None, "seed": 0, "bootstrap": 10,
            "seconds": seconds, "workers": workers, "rows": rows}


SMALL = {("s", "all", "paper"): 0.78, ("s", "all", "clean"): 0.79, ("p", "all", "paper"): 0.60,
        ("p", "all", "clean"): 0.65, ("p", "xsum", "paper"): 0.40, ("p", "xsum", "clean"): 0.41}
FP32 = {("s", "all", "paper"): 0.77, ("s", "all", "clean"): 0.80, ("p", "all", "paper"): 0.62,
        ("p", "all", "clean"): 0.64, ("p", "xsum", "paper"): 0.50, ("p", "xsum", "clean"): 0.41}


def test_quantization_cost_is_the_worst_pooled_loss():
    cost, where = card.quantization_cost(_report(SMALL), _report(FP32))
    # p/xsum loses 0.10 but is a per-origin row; the pooled rows decide (p, paper: 0.62 -> 0.60).
    assert where == ("p", "all", "paper") and cost == pytest.approx(0.02)


def test_readme_block_and_update(tmp_path):
    (tmp_path / "dev-compact-full.json").write_text(json.dumps(_report(SMALL)))
    (tmp_path / "dev-fp32-full.json").write_text(json.dumps(_report(FP32)))
    block = card.readme_block(tmp_path)
    assert "| p | xsum | 10 | 1 | 0.400 [0.30, 0.50] | 0.410 [0.31, 0.51] | 0.600 [0.50, 0.70] |" in block
    assert "| p | all | 0.600 | 0.620 | -0.020 | 0.650 | 0.640 | +0.010 |" in block
    assert ("against fp32: the quantization rule: not decided (no per-record scores); its largest loss is +0.020 AUC "
            "(p, paper variant)") in block
    assert "Also measured" not in block and "Against the targets" not in block  # no such reports, no such names
    assert "2 worker processes" in block
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\nbefore\n{card.README_BEGIN}\nold numbers\n{card.README_END}\nafter\n")
    card.update_readme(readme, tmp_path)
    text = readme.read_text()
    assert "old numbers" not in text and block in text
    assert text.startswith("# x\nbefore\n") and text.endswith(f"{card.README_END}\nafter\n")
    readme.write_text("no markers")
    with pytest.raises(SystemExit, match="markers"):
        card.update_readme(readme, tmp_path)


def test_readme_block_without_reports_says_so(tmp_path):
    assert "Not measured yet" in card.readme_block(tmp_path)


def test_targets_and_other_methods_are_derived_from_the_reports(tmp_path):
    aucs = {("summeval", "all", "paper"): 0.76, ("polytope", "all", "paper"): 0.69}
    (tmp_path / "dev-compact-full.json").write_text(json.dumps(_report(aucs)))
    (tmp_path / "dev-fp32-full.json").write_text(json.dumps(_report({k: v + 0.005 for k, v in aucs.items()})))
    (tmp_path / "dev-dynamic-int8-full.json").write_text(
        json.dumps(_report({k: v - 0.02 for k, v in aucs.items()}, signature="quals|bundle:dyn")))
    # the same bundle as the shipped one under an alternative's name is not listed as an alternative
    (tmp_path / "dev-weight-int8-b32-full.json").write_text(json.dumps(_report(aucs)))
    (tmp_path / "synthetic-compact.json").write_text(json.dumps(_report({("synthetic", "all", "paper"): 0.93,
                                                                      ("synthetic", "all", "clean"): 0.95})))
    block = card.readme_block(tmp_path)
    assert "its largest loss is +0.005 AUC (summeval, paper variant)" in block
    assert "dynamic-int8 loses up to +0.025 AUC (summeval, paper variant)" in block
    assert "blocks of 32" not in block
    (tmp_path / "dev-weight-int8-b32-full.json").write_text(
        json.dumps(_report({k: v - 0.01 for k, v in aucs.items()}, signature="quals|bundle:b32")))
    assert "weight-int8 with blocks of 32 loses up to +0.015 AUC" in card.readme_block(tmp_path)
    assert "For scale" not in block
    noise = {("summeval", "all", "paper"): 0.766, ("polytope", "all", "paper"): 0.684}  # fp32 +0.001, -0.011
    (tmp_path / card.NOISE_FLOOR).write_text(json.dumps(_report(noise, signature="quals|bundle:basic")))
    assert ("loses up to +0.011 AUC (polytope, paper variant) and moves a pooled AUC by up to 0.011"
            in card.readme_block(tmp_path))
    assert ("summeval 0.760 < 0.850 (missed); polytope 0.690 < 0.750 (missed); synthetic check 0.930 ≥ 0.800 (met)"
            in block)
    assert "gofigure" not in block and "XQuAD" not in block  # not measured: left out, not called missed


def test_every_target_of_issue_31_is_read_from_its_report(tmp_path):
    aucs = {("summeval", "all", "paper"): 0.86, ("gofigure", "all", "paper"): 0.60, ("goyal21", "all", "paper"): 0.2,
            ("goyal21", "xsum", "paper"): 0.55, ("goyal21", "cnndm", "paper"): 0.91}
    (tmp_path / "dev-compact-full.json").write_text(json.dumps(_report(aucs)))
    (tmp_path / "synthetic-compact.json").write_text(json.dumps(_report({("synthetic", "all", "paper"): 0.80,
                                                                      ("synthetic", "all", "clean"): 0.82})))
    rows = [{"benchmark": "synthetic", "id": f"d{i}-{kind}", "origin": "pool", "label": float(kind == "lead"),
             "status": "ok", "quals": {"paper": score}}
            for i in range(4) for kind, score in (("lead", 1.0 if i else -1.0), ("swap-0", 0.0))]
    (tmp_path / "synthetic-compact.scores.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "xquad.json").write_text(json.dumps({"span_rate": 0.792, "gold_nll_per_token": 2.29,
                                                      "n_hypotheses_with_split": 100, "n_contexts_generated": 4}))
    (tmp_path / card.QUESTIONS).write_text(json.dumps(_questions("quals|bundle:x", copied=0.25)))
    (tmp_path / card.SPEED).write_text(json.dumps(_speed(0.65)))
    line = next(x for x in card.readme_block(tmp_path).splitlines() if x.startswith("Against the targets"))
    assert line == ("Against the targets (paper variant; ROC-AUC unless named): summeval 0.860 ≥ 0.850 (met); "
                    "gofigure 0.600 < 0.650 (missed); goyal21/cnndm 0.910 ≥ 0.600 (met); goyal21/xsum 0.550 < 0.600 "
                    "(missed); synthetic check 0.800 ≥ 0.800 (met); synthetic paired 75.0% < 95.0% (missed); "
                    "XQuAD-en span rate 79.2% < 80.0% (missed); XQuAD-en gold NLL 2.29 ≤ 2.30 (met); "
                    "copied questions 25.0% > 20.0% (missed); time per summary 0.65x ≤ 0.70x (met).")


def _questions(signature: str, copied: float, summaries=("Anna won.", "Bob |\n lost in 1990."),
               first=("who won?",), gives: float | None = None):
    """A question_quality report; `gives` None: one measured before the gives-its-answer share was."""
    samples = [{"set": "summeval", "summary": x, "question": q, "answer": "anna", "copied": False}
               for x, q in zip(summaries, list(first) + [None] * len(summaries))]
    doc = {"summaries": 2, "pairs": 20, "copied_share": copied, "asks_share": 0.5, "copy_share_rule": 0.8,
           "per_set": {"summeval": {"summaries": 2, "pairs": 20, "copied": copied * 20, "asks": 10}},
           "samples": samples, "signature": signature}
    if gives is not None:
        doc["gives_answer_share"] = gives
        doc["per_set"]["summeval"]["gives_answer"] = gives * 20
        for x in samples:
            x["gives_answer"] = x["question"] is not None and "anna" in x["question"]
    return doc


def _speed(ratio: float, candidate: str = "quals|bundle:x|y") -> dict:
    return {"baseline": "quals|bundle:old|y", "candidate": candidate, "baseline_s": 1.0, "candidate_s": ratio,
            "ratio": ratio, "baseline_tokens": 20.0, "candidate_tokens": 18.5, "records": 16, "threads": 2,
            "rounds": 3}


def test_questions_are_set_beside_the_replaced_defaults_on_the_same_summaries(tmp_path):
    old, new = "quals|bundle:aaaaaaaaaaaa|x", "quals|bundle:bbbbbbbbbbbb|x"
    now, base = tmp_path / "now", tmp_path / "base"
    now.mkdir()
    base.mkdir()
    assert card.questions_lines(now, base) == []
    (now / card.PREVIOUS).write_text(json.dumps({"baseline_signature": old, "rows": [], "holds": True}))
    (now / card.QUESTIONS).write_text(json.dumps(_questions(new, 0.1, gives=0.15)))
    (base / card.QUESTIONS).write_text(json.dumps(_questions(old, 0.35, first=("anna won?", "who lost?"))))
    lines = card.questions_lines(now, base)
    assert "| summeval | 20 | 10.0% | 50.0% | 15.0% | 35.0% | 50.0% | - |" in lines  # the baseline predates it
    assert "| summeval | Anna won. | who won? → anna | anna won? → anna |" in lines
    assert "| summeval | Bob \\| lost in 1990. | (no pair) | who lost? → anna |" in lines
    # the baseline measured other summaries, or another bundle: this model's alone
    (base / card.QUESTIONS).write_text(json.dumps(_questions(old, 0.35, summaries=("Other.", "Two."))))
    assert "| summeval | 20 | 10.0% | 50.0% | 15.0% |" in card.questions_lines(now, base)
    (base / card.QUESTIONS).write_text(json.dumps(_questions("quals|bundle:cccccccccccc|x", 0.35)))
    assert not any("previous" in x for x in card.questions_lines(now, base)[1:])
    # the shares are checks the replaced default's are compared with
    (base / card.QUESTIONS).write_text(json.dumps(_questions(old, 0.35)))
    assert "| copied questions | 35.0% | 10.0% | -25.0 points |" in card.previous_checks_lines(now, base)
    assert not any("give their answer" in x for x in card.previous_checks_lines(now, base))
    (base / card.QUESTIONS).write_text(json.dumps(_questions(old, 0.35, gives=0.4)))
    checks = card.previous_checks_lines(now, base)
    assert "| questions that give their answer | 40.0% | 15.0% | -25.0 points |" in checks
    (now / card.QUESTIONS).write_text(json.dumps(_questions(new, 0.1, gives=0.15, first=("anna won?",))))
    pairs = card.questions_lines(now, base)
    assert "| summeval | Anna won. | anna won? → anna (gives its answer) | who won? → anna |" in pairs


def test_limits_say_how_many_questions_are_copied_when_more_than_the_target(tmp_path):
    assert card.copied_limit_lines(tmp_path) == []
    (tmp_path / card.QUESTIONS).write_text(json.dumps(_questions("quals|bundle:x", copied=card.COPIED_TARGET)))
    assert card.copied_limit_lines(tmp_path) == []
    (tmp_path / card.QUESTIONS).write_text(json.dumps(_questions("quals|bundle:x", copied=0.47)))
    (line,) = card.copied_limit_lines(tmp_path)
    assert line.startswith("- 47% of the selected questions restate a run of the summary") and "give their" not in line
    (tmp_path / card.QUESTIONS).write_text(json.dumps(_questions("quals|bundle:x", copied=0.47, gives=0.32)))
    assert "and 32% give their answer" in card.copied_limit_lines(tmp_path)[0]


def test_the_learning_curve_shows_the_probes_and_how_much_the_last_quarter_moved():
    history = [{"step": 0, "xquad_gold_nll": 2.93, "xquad_answer_gap": 5.27, "xquad_swap_auc": 0.983,
                "xquad_span_rate": 0.79}, {"step": 25, "loss": 3.2}]
    history += [{"step": s, "val_nll": 1.2 - s / 100000} for s in range(500, 4001, 500)]
    history += [{"step": s, "xquad_gold_nll": 2.9 - s / 10000, "xquad_answer_gap": 5.5, "xquad_swap_auc": 0.99,
                 "xquad_span_rate": 0.8} for s in range(1000, 4001, 1000)]
    lines = card.curve_lines(history)
    assert "| 0 | - | 2.930 | 5.27 | 0.983 | 79% |" in lines
    assert "| 2000 | 1.180 | 2.700 | 5.50 | 0.990 | 80% |" in lines
    assert not any(x.startswith("| 500 ") for x in lines)
    assert "steps 3000-4000) the validation NLL moved by -0.010 (-0.010 per 1,000 steps)." in lines[-2]
    assert card.curve_lines([{"step": 500, "val_nll": 1.5}]) == [
        "- Validation NLL per token (FairytaleQA val + held-out cloze): step 500: 1.500."]
    assert card.curve_lines([]) == []


def test_starts_are_counted_from_the_runs_log(tmp_path):
    assert card.starts(tmp_path) == 1
    (tmp_path / "run.log").write_text("2026-12-05 11:19:57,531 resumed at step 1060 (epoch 0, 4226 s trained)\n"
                                      "x\n2026-12-05 13:52:16,547 resumed at step 2242 (epoch 0, 12056 s trained)\n")
    assert card.starts(tmp_path) == 3


def test_method_text_is_read_from_the_provenance():
    text = card.method_text({"method": "fp16-weights", "block_size": 16, "int8_nodes": "encoder:/fc1/"})
    assert text.startswith("fp32 computation from weights stored as fp16 (int8 blocks of 16 for the nodes matching "
                           "`encoder:/fc1/`) in one file")
    assert "int8" not in card.method_text({"method": "fp16-weights"})
    assert "blocks of 32" in card.method_text({"method": "weight-int8", "block_size": 32})
    assert card.method_text({"method": "int4-magic"}) == "int4-magic"


def _scores(path, labels, scores, benchmark="summeval"):
    rows = [{"benchmark": benchmark, "id": f"r{i}", "origin": "cnndm", "label": float(labels[i]), "status": "ok",
             "quals": {"paper": float(scores[i]), "clean": float(scores[i])}} for i in range(len(labels))]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_quantization_verdict_comes_from_the_paired_rule(tmp_path):
    """The card states compare.verdict's quantize rule on the per-record scores, not a threshold of its own."""
    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 80)
    fp32 = labels + rng.normal(0, 0.5, 80)
    aucs = {("summeval", "all", "paper"): 0.8, ("summeval", "all", "clean"): 0.8}
    (tmp_path / "dev-compact-full.json").write_text(json.dumps(_report(aucs)))
    (tmp_path / "dev-fp32-full.json").write_text(json.dumps(_report(aucs)))
    _scores(tmp_path / "dev-fp32-full.scores.jsonl", labels, fp32)
    _scores(tmp_path / "dev-compact-full.scores.jsonl", labels, fp32 + rng.normal(0, 1e-3, 80))
    v = card.quantization_verdict(tmp_path)
    assert v.holds and v.compared == 2
    assert "the quantization rule holds: mean pooled ROC-AUC change" in card.readme_block(tmp_path)
    _scores(tmp_path / "dev-compact-full.scores.jsonl", labels, rng.normal(0, 1, 80))  # noise: a real loss
    v = card.quantization_verdict(tmp_path)
    assert not v.holds and v.below_zero
    assert "the quantization rule fails: " in card.readme_block(tmp_path)
    assert card.quantization_verdict(tmp_path, "dynamic-int8") is None  # no scores for that variant


def test_previous_default_comparison_is_read_from_compare_default(tmp_path):
    import numpy as np
    from quals.train import compare

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 80)
    good, bad = labels + rng.normal(0, 0.3, 80), labels + rng.normal(0, 3.0, 80)
    _scores(tmp_path / "new.jsonl", labels, good)
    _scores(tmp_path / "old.jsonl", labels, bad)
    (tmp_path / "dev-compact-full.json").write_text(json.dumps(_report({("summeval", "all", "paper"): 0.9})))
    assert compare.main([str(tmp_path / "new.jsonl"), str(tmp_path / "old.jsonl"), "--resamples", "100",
                         "--json", str(tmp_path / card.PREVIOUS)]) == 0
    doc = json.loads((tmp_path / card.PREVIOUS).read_text())
    row = next(r for r in doc["rows"] if (r["origin"], r["variant"]) == ("all", "paper"))
    assert row["candidate_auc"] - row["baseline_auc"] == pytest.approx(row["value"]) and row["n"] == 80
    block = card.readme_block(tmp_path)
    assert "Against the previous default" in block and "this model replaces it." in block
    assert f"| summeval | 80 | {row['baseline_auc']:.3f} | {row['candidate_auc']:.3f} | {row['value']:+.3f} [" in block


def test_fitness_lines_say_per_kind_of_summary_where_the_model_works(tmp_path):
    rows = [{"benchmark": "a", "id": f"{o}{i}", "origin": o, "label": float(i % 2), "status": "ok",
             "quals": {"paper": 0.0, "clean": 0.0}} for o, n in (("cnndm", 40), ("xsum", 40), ("odd", 3))
            for i in range(n)]
    rows += [{"benchmark": "b", "id": str(i), "origin": "cnndm", "label": float(i % 2), "status": "ok",
              "quals": {"paper": 0.0, "clean": 0.0}} for i in range(30)]
    scores = tmp_path / "s.jsonl"
    scores.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = _report({("a", "all", "paper"): 0.7, ("a", "cnndm", "paper"): 0.85, ("a", "xsum", "paper"): 0.55,
                      ("a", "odd", "paper"): 0.99, ("b", "all", "paper"): 0.68})
    for r in report["rows"]:  # intervals: a/cnndm and b above chance, a/xsum reaches 0.5
        r["metrics"]["roc_auc"]["ci95"] = [0.45, 0.65] if r["origin"] == "xsum" else [0.6, 0.9]
    (line, _) = card.fitness_lines(report, scores)
    assert ("Multi-sentence news summaries (CNN/DailyMail style): good (a 0.85); better than chance, weakly "
            "(b 0.68). One-sentence abstractive news summaries (XSum style): not distinguishable from chance "
            "(a 0.55).") in line
    assert "odd" not in line  # 3 records: too few to judge
    assert card.fitness_lines(report, tmp_path / "missing.jsonl") == []


def test_checks_beside_the_benchmarks_are_compared_with_the_replaced_default_only(tmp_path):
    old, new, other = "quals|bundle:aaaaaaaaaaaa|x", "quals|bundle:bbbbbbbbbbbb|x", "quals|bundle:cccccccccccc|x"
    now, base = tmp_path / "now", tmp_path / "base"
    now.mkdir()
    base.mkdir()
    (now / card.PREVIOUS).write_text(json.dumps({"baseline_signature": old, "rows": [], "holds": True}))
    for folder, sig, auc, span in ((now, new, 0.80, 0.9), (base, old, 0.65, 0.651)):
        (folder / "synthetic-compact.json").write_text(json.dumps(_report(
            {("synthetic", "all", "paper"): auc, ("synthetic", "all", "clean"): auc + 0.02}, signature=sig)))
        (folder / "xquad.json").write_text(json.dumps({"span_rate": span, "gold_nll_per_token": 5.07 - span,
                                                       "signature": sig}))
    # the baseline's SQuAD-dev report measured another bundle: no previous value, so no row
    (base / "squad-dev.json").write_text(json.dumps({"span_rate": 0.5, "gold_nll_per_token": 4.0, "signature": other}))
    (now / "squad-dev.json").write_text(json.dumps({"span_rate": 0.8, "gold_nll_per_token": 3.0, "signature": new}))
    lines = card.previous_checks_lines(now, base)
    assert "against the previous default** (`bundle:aaaaaaaaaaaa`" in lines[0]
    assert "| synthetic check ROC-AUC, paper | 0.650 | 0.800 | +0.150 |" in lines
    assert "| XQuAD-en span rate | 65.1% | 90.0% | +24.9 points |" in lines
    assert "| XQuAD-en gold NLL (nats/token) | 4.42 | 4.17 | -0.249 |" in lines
    assert not any("SQuAD 1.1 dev" in x for x in lines)
    assert card.previous_checks_lines(now, None) == []
    (now / card.PREVIOUS).unlink()  # no comparison with a previous default: nothing to set beside
    assert card.previous_checks_lines(now, base) == []
