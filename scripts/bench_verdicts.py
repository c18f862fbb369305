"""What the verdict mode costs: time per summary with and without verdicts, interleaved (A B A B) in one run.

    python scripts/bench_verdicts.py [--model models/default] [--records 24] [--rounds 3] [--threads 2]

Both scorers run the authors' search on the same records (the first --records of SummEval, a real summary
length); the verdict mode adds the coverage pairs' teacher forcing and the features. Prints seconds per
summary of each and their ratio per round and over all rounds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from quals import Scorer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models/default"))
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/eval/summeval.jsonl")
    ap.add_argument("--records", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    recs = [json.loads(x) for x in a.data.read_text(encoding="utf-8").splitlines()[: a.records]]
    sources, summaries = [r["source"] for r in recs], [r["summary"] for r in recs]
    on = Scorer.load(a.model, threads=a.threads)
    off = Scorer.load(a.model, threads=a.threads, verdicts=False)
    if on.calibration is None:
        raise SystemExit(f"{a.model} has no calibration.json: nothing to compare (make calibrate)")
    totals = {"verdicts": 0.0, "paper only": 0.0}
    on.score(sources[:1], summaries[:1])  # warm both (session start-up is not the mode's cost)
    off.score(sources[:1], summaries[:1])
    for k in range(a.rounds):
        times = {}
        for name, scorer in (("paper only", off), ("verdicts", on)) if k % 2 else (("verdicts", on),
                                                                                 ("paper only", off)):
            t0 = time.perf_counter()
            results = scorer.score(sources, summaries)
            times[name] = (time.perf_counter() - t0) / len(recs)
            totals[name] += times[name]
            if name == "verdicts":
                n_cov = sum(len(r.coverage) for r in results)
        print(f"round {k + 1}: verdicts {times['verdicts']:.3f} s/summary, paper only {times['paper only']:.3f}, "
              f"ratio {times['verdicts'] / times['paper only']:.3f} ({n_cov} coverage pairs)")
    print(f"all rounds: verdicts {totals['verdicts'] / a.rounds:.3f} s/summary, paper only "
          f"{totals['paper only'] / a.rounds:.3f}, ratio {totals['verdicts'] / totals['paper only']:.3f}")


if __name__ == "__main__":
    main()
