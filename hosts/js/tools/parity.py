"""The Node host beside the Python runtime on the same records: statuses, QUALS differences and time per summary.

Usage: .venv/bin/python hosts/js/tools/parity.py BUNDLE INPUT.jsonl [--threads T] [--limit N] [--search S]

Scores the records with Python's Scorer, then with `node hosts/js/cli.js score` (same bundle, options and thread
count), back to back, and prints one JSON summary: records, statuses equal, max |ΔQUALS|, and per-summary wall and
process-CPU mean/median for each (a benchmark, not a test: run it on an idle machine for times worth quoting).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from quals import Scorer

HERE = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bundle")
    ap.add_argument("input")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--search", default=None)
    a = ap.parse_args()
    records = []
    for line in open(a.input, encoding="utf-8"):
        if line.strip() and len(records) < a.limit:
            rec = json.loads(line)
            records.append({"source": rec["source"], "summary": rec["summary"]})
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
        path = f.name

    overrides = {"search": a.search} if a.search else {}
    t0 = time.perf_counter()
    scorer = Scorer.load(a.bundle, threads=a.threads, **overrides)
    py_load = time.perf_counter() - t0
    py, wall, cpu = [], [], []
    for r in records:
        w, c = time.perf_counter(), time.process_time()
        py.append(scorer.score_one(r["source"], r["summary"]).to_dict())
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)

    cmd = ["node", str(HERE / "cli.js"), "score", "--model", a.bundle, "--threads", str(a.threads)]
    cmd += ["--search", a.search] if a.search else []
    cmd.append(path)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        print(proc.stderr, file=sys.stderr)
        return 1
    js = [json.loads(line) for line in proc.stdout.splitlines()]
    m = re.search(r"wall mean ([\d.]+) s, median ([\d.]+) s; process CPU mean ([\d.]+) s, median ([\d.]+) s",
                  proc.stderr)
    js_load = re.search(r"loaded .* in ([\d.]+) s", proc.stderr)
    diffs = [abs(p["quals"] - j["quals"]) for p, j in zip(py, js) if p["quals"] is not None and j["quals"] is not None]
    print(json.dumps({
        "bundle": a.bundle, "input": a.input, "records": len(records), "threads": a.threads,
        "search": scorer.options.search.search,
        "statuses_equal": sum(p["status"] == j["status"] for p, j in zip(py, js)), "js_records": len(js),
        "n_pairs_equal": sum(p["n_pairs"] == j["n_pairs"] for p, j in zip(py, js)),
        "max_abs_quals_diff": max(diffs) if diffs else None,
        "python": {"load_s": round(py_load, 2), "wall_mean_s": round(statistics.mean(wall), 3),
                   "wall_median_s": round(statistics.median(wall), 3), "cpu_mean_s": round(statistics.mean(cpu), 3),
                   "cpu_median_s": round(statistics.median(cpu), 3)},
        "js": {"load_s": float(js_load.group(1)) if js_load else None,
               **({"wall_mean_s": float(m.group(1)), "wall_median_s": float(m.group(2)),
                   "cpu_mean_s": float(m.group(3)), "cpu_median_s": float(m.group(4))} if m else {})},
    }))
    Path(path).unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
