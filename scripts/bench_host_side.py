"""What the work between ONNX Runtime calls costs, and the two engine settings that decide it, in one process.

python scripts/bench_host_side.py [--model models/default] [--records 12] [--rounds 5] [--threads 2]

A search alternates decoder calls with numpy work on the calling thread (log-softmax, top-k, bookkeeping).
Two settings of quals.engine decide how that work and ONNX Runtime share the cores:
- spin: ONNX Runtime's pool threads spin after each call, waiting for the next (its default), or wait;
- the log-softmax split over the rows on `--threads` threads (quals.rowwise), or on the calling thread.
Each form scores the same seeded SummEval records at the model's defaults (the authors' search), forms
interleaved round by round; prints seconds per summary (median over rounds), the ratio to ONNX Runtime's
default (spinning, one log-softmax thread) per round, whether every number is the same (it must be: neither
setting changes one), and the log-softmax of one 60 x vocabulary step on its own.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
from quals import Scorer
from quals.engine import SPIN
from quals.rowwise import RowThreads, log_softmax


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=Path("models/default"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/eval/summeval.jsonl"))
    p.add_argument("--records", type=int, default=12)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rows = [json.loads(x) for x in a.data.read_text(encoding="utf-8-sig").split("\n") if x.strip()]
    rows = random.Random(a.seed).sample(rows, min(a.records, len(rows)))
    sources, summaries = [r["source"] for r in rows], [r["summary"] for r in rows]

    def spinning(o) -> None:
        o.add_session_config_entry(SPIN, "1")

    scorers = {"spin": Scorer.load(a.model, threads=a.threads, session_options=spinning),
               "wait": Scorer.load(a.model, threads=a.threads)}
    forms = {f"{spin}, log-softmax on {k} thread{'s' * (k > 1)}": (scorers[spin], RowThreads(k))
             for spin, k in (("spin", 1), ("wait", 1), ("wait", a.threads))}
    for scorer in scorers.values():
        scorer.score(sources[:1], summaries[:1])  # sessions warm
    seconds: dict[str, list[float]] = {name: [] for name in forms}
    numbers: dict[str, list] = {}
    for _ in range(a.rounds):
        for name, (scorer, rows_threads) in forms.items():
            scorer.engine.rows = rows_threads
            t = time.perf_counter()
            results = scorer.score(sources, summaries)
            seconds[name].append((time.perf_counter() - t) / len(rows))
            numbers[name] = [r.to_dict(details=True) for r in results]
    base = next(iter(forms))
    print(f"{len(rows)} SummEval records, {a.threads} ONNX Runtime threads, {a.rounds} rounds interleaved, "
          f"{a.model}:")
    for name in forms:
        ratios = [s / b for s, b in zip(seconds[name], seconds[base])]
        print(f"  {name:34s} {statistics.median(seconds[name]):.3f} s/summary  x first per round: "
              f"{', '.join(f'{r:.2f}' for r in ratios)}  same numbers: {numbers[name] == numbers[base]}")
    vocab = scorers["wait"].manifest.onnx.vocab_size
    x0 = log_softmax(np.random.default_rng(0).standard_normal((60, vocab)).astype(np.float32) * 3)
    kernels = {k: RowThreads(k) for k in (1, a.threads)}
    times: dict[int, list[float]] = {k: [] for k in kernels}
    for _ in range(200):
        for k, rt in kernels.items():
            x = x0.copy()
            t = time.perf_counter()
            rt.log_softmax(x)
            times[k].append(time.perf_counter() - t)
    one, many = (statistics.median(v) for v in times.values())
    print(f"log-softmax of one 60 x {vocab} step: 1 thread {one * 1e3:.3f} ms, {a.threads} threads "
          f"{many * 1e3:.3f} ms ({many / one:.2f}x)")


if __name__ == "__main__":
    main()
