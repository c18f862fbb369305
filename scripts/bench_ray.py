"""Records per second of the local engine against Ray Data with 1 and 2 actors, same records, same
numbers (checked), on this machine: what Ray costs per record, for the cluster plan in docs/conseq.md.

    python scripts/bench_ray.py --records 12 [--model models/default] [--json build/bench/ray.json]

Each configuration scores the same SummEval summaries with the authors' search, in batches of
`--batch-size` records (the unit a worker or an actor takes). The local cluster's start-up is timed apart
(a cluster job pays it once); the actors' start (each loads the model) is inside Ray's scoring time.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(ROOT / "models" / "default"))
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "eval" / "summeval.jsonl"))
    p.add_argument("--records", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=2, help="Records per batch (the unit a worker takes).")
    p.add_argument("--json", default=None)
    a = p.parse_args()
    import ray
    from quals import Scorer
    from quals.run.pool import ScorerPool
    from quals.run.ray import RayRunner

    recs = [json.loads(x) for x in Path(a.data).read_text(encoding="utf-8").splitlines()[: a.records]]
    chunks = [recs[i : i + a.batch_size] for i in range(0, len(recs), a.batch_size)]
    batches = [([r["source"] for r in c], [r["summary"] for r in c]) for c in chunks]
    cores = os.cpu_count() or 1
    rows, ref = [], None

    def timed(name: str, runner, setup_s: float) -> None:
        nonlocal ref
        t0 = time.perf_counter()
        res = [r for b in runner.score_batches(batches) for r in b]
        s = time.perf_counter() - t0
        values = [r.quals for r in res]
        if ref is None:
            ref = values
        rows.append({"engine": name, "setup_s": round(setup_s, 2), "score_s": round(s, 2),
                     "records_per_s": round(len(recs) / s, 3), "same_numbers": values == ref})
        print(rows[-1], flush=True)

    t0 = time.perf_counter()
    scorer = Scorer.load(a.model, threads=cores)
    timed(f"local, 1 process x {cores} threads", scorer, time.perf_counter() - t0)
    options = scorer.options
    t0 = time.perf_counter()
    with ScorerPool(a.model, cores, options, threads=1) as pool:
        timed(f"local, {cores} processes x 1 thread", pool, time.perf_counter() - t0)
    t0 = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - t0
    for actors, cpus in ((1, cores), (cores, 1)):
        runner = RayRunner(a.model, options, actors=actors, cpus_per_actor=cpus, details=False,
                           batch_size=a.batch_size)
        timed(f"ray, {actors} actor(s) x {cpus} CPU(s)", runner, ray_start)
    ray.shutdown()
    for r in rows:
        r["vs_local"] = round(r["records_per_s"] / rows[0]["records_per_s"], 3)
    print("| engine | records/s | vs local | same numbers |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['engine']} | {r['records_per_s']:.3f} | {r['vs_local']:.2f}x | {r['same_numbers']} |")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"records": len(recs), "ray_start_s": ray_start, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
