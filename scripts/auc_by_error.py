"""ROC-AUC of the consistent summaries against those annotated with each kind of error, per model: which errors a
model's score separates, where a benchmark names them (Polytope's `errors` field: addition, omission,
inaccuracy...). An inconsistent summary with several kinds counts under each.

Used for docs/eval/v4/README.md ("The outcome"), v4 beside v3 on Polytope:

    python scripts/auc_by_error.py ../shared/data/eval/polytope.jsonl \
        docs/eval/v4/final/dev-compact-full.scores.jsonl docs/eval/default/dev-compact-full.scores.jsonl
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from quals.tasks.evaluate import read_scores
from quals.tasks.metrics import roc_auc


def auc_by_error(records: list[dict], scores: list[dict], variant: str) -> dict[str, tuple[int, float]]:
    """error kind -> (inconsistent summaries with it, ROC-AUC against every consistent one), over the records
    this scores file has an ok score for (matched by id)."""
    by_id = {s["id"]: s["quals"][variant] for s in scores if s.get("status") == "ok"}
    kept = [r for r in records if r["id"] in by_id]
    positives = [by_id[r["id"]] for r in kept if r["label"] == 1]
    out = {}
    for kind in sorted({e for r in kept for e in r.get("errors") or ()}):
        negatives = [by_id[r["id"]] for r in kept if r["label"] == 0 and kind in (r.get("errors") or ())]
        labels = np.r_[np.ones(len(positives)), np.zeros(len(negatives))]
        out[kind] = (len(negatives), roc_auc(np.asarray(positives + negatives), labels))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("benchmark", type=Path, help="the benchmark's JSONL (records with id, label and errors)")
    ap.add_argument("scores", nargs="+", type=Path, help="quals evaluate --scores files, one column each")
    ap.add_argument("--variant", default="paper")
    args = ap.parse_args()
    records = [json.loads(x) for x in args.benchmark.read_text(encoding="utf-8-sig").splitlines() if x.strip()]
    tables = [auc_by_error(records, read_scores(p), args.variant) for p in args.scores]
    print("error | n | " + " | ".join(str(p) for p in args.scores))
    for kind in sorted(set().union(*tables)):
        n = next(t[kind][0] for t in tables if kind in t)
        cells = [f"{t[kind][1]:.3f}" if kind in t else "-" for t in tables]
        print(f"{kind} | {n} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
