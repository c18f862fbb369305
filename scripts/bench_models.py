"""Two bundles' scoring speed on the same development records, in one process, rounds interleaved (machines are
noisy: the ratio of the two is the figure, not either time).

python scripts/bench_models.py --baseline OLD_BUNDLE --candidate NEW_BUNDLE [--records 16] [--rounds 2] [--json OUT]

Each bundle scores the same seeded sample of SummEval records (the authors' search, each bundle's defaults);
prints seconds per summary per bundle, the generated hypotheses' mean length (a bundle that writes longer
questions does more decoder steps) and candidate / baseline; --json writes them (the model card reads it as
speed.json).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from quals import Scorer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", type=Path, required=True)
    p.add_argument("--candidate", type=Path, required=True)
    p.add_argument("--data", type=Path, default=Path("../shared/data/eval/summeval.jsonl"))
    p.add_argument("--records", type=int, default=16)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    rows = [json.loads(x) for x in a.data.read_text(encoding="utf-8-sig").split("\n") if x.strip()]
    rows = random.Random(a.seed).sample(rows, min(a.records, len(rows)))
    sources, summaries = [r["source"] for r in rows], [r["summary"] for r in rows]
    scorers = {name: Scorer.load(path, threads=a.threads) for name, path in
               (("baseline", a.baseline), ("candidate", a.candidate))}
    seconds: dict[str, list[float]] = {name: [] for name in scorers}
    lengths: dict[str, float] = {}
    for _ in range(a.rounds):
        for name, scorer in scorers.items():
            t = time.perf_counter()
            results = scorer.score(sources, summaries)
            seconds[name].append((time.perf_counter() - t) / len(rows))
            pairs = [pr for r in results for pr in (r.pairs or [])]
            lengths[name] = sum(len(pr.tokens) for pr in pairs) / max(1, len(pairs))
    best = {name: min(s) for name, s in seconds.items()}
    for name, scorer in scorers.items():
        print(f"{name:9s} {scorer.signature().split('|')[1]}  {best[name]:.3f} s/summary (best of {a.rounds}: "
              f"{', '.join(f'{x:.3f}' for x in seconds[name])}); selected pairs' mean length "
              f"{lengths[name]:.1f} tokens")
    print(f"candidate / baseline: {best['candidate'] / best['baseline']:.2f}x time per summary "
          f"({len(rows)} SummEval records, {a.threads} threads)")
    if a.json:
        doc = {"baseline": scorers["baseline"].signature(), "candidate": scorers["candidate"].signature(),
               "baseline_s": best["baseline"], "candidate_s": best["candidate"],
               "ratio": best["candidate"] / best["baseline"], "seconds": seconds,
               "baseline_tokens": lengths["baseline"], "candidate_tokens": lengths["candidate"],
               "records": len(rows), "threads": a.threads, "rounds": a.rounds, "seed": a.seed}
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
