"""`make evaluate-noise-floor` only: the metric's own numerical noise, for scale.

The fp32 bundle scored on every development record with ONNX Runtime's basic graph optimizations (the same model
without the fused LayerNorm/GELU/attention kernels, so the same numbers up to float rounding: |d log p| <= 5e-6 on
the default model), through the scorer's session-options hook in this process and in every worker. How far
ROC-AUC moves from rounding alone is the scale against which a quantised bundle's loss is read.

python scripts/noise_floor.py --model build/default-fp32 --benchmark A.jsonl ... --json R.json --scores S.jsonl
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import onnxruntime as ort
from quals.run.runner import EngineSpec, open_runner
from quals.tasks import evaluate as ev

VARIANTS = ("paper", "clean")  # what `quals evaluate` reports by default


def basic_optimizations(options: ort.SessionOptions) -> None:
    """The session-options hook (module level: the worker processes receive it pickled)."""
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--benchmark", action="append", required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--scores", type=Path, required=True)
    a = p.parse_args()
    records = [r for path in a.benchmark for r in ev.load_benchmark(path)]
    spec = EngineSpec(workers=a.workers)
    with open_runner(a.model, spec, threads=a.threads, session_options=basic_optimizations) as run:
        signature = run.signature + "|ort-opt:basic"  # not the signature of a normal run: never reused as one
        t0 = time.perf_counter()
        scored, n_reused = ev.score_with_file(run.runner, records, VARIANTS, signature, scores_path=a.scores,
                                              resume=a.scores.is_file(), note=print)
        seconds = time.perf_counter() - t0
    rows = ev.report(scored, VARIANTS, n_resamples=1000, seed=0)
    print(ev.format_table(rows))
    doc = ev.report_document(rows, signature=signature, benchmarks=a.benchmark, limit=None, seed=0, n_resamples=1000,
                             seconds=seconds, engine=dataclasses.asdict(spec), n_scored=len(records) - n_reused,
                             n_reused=n_reused)
    a.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
