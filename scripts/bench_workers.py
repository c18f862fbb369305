"""Records per second of `quals score` with its cores split into processes or into threads, interleaved.

    python scripts/bench_workers.py [--records 32] [--rounds 3] [--configs 1x2,2x1] [--json OUT]

Each configuration `WxT` is the command a user runs, `quals score --workers W --threads T`, on the same
records sampled from the four development sets (scripts/bench.py's sample), start-up included; the
configurations run alternately (A B A B ...) for `--rounds` rounds, so that a change of load moves them alike,
and each round's ratio to the first configuration is reported with the median. The outputs must be identical
(the same numbers from any split). The machine's CPU, ISA flags and load go into the report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import sample_records
from bench_machine import machine

ROOT = Path(__file__).resolve().parent.parent


def run_config(inp: Path, out: Path, workers: int, threads: int, extra: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "quals", "score", "--input", str(inp), "--output", str(out),
                           "--workers", str(workers), "--threads", str(threads), "--no-progress", *extra],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"quals score --workers {workers} --threads {threads} failed:\n{proc.stderr[-3000:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--configs", default="1x2,2x1", help="WORKERSxTHREADS, comma-separated; the first is the base.")
    ap.add_argument("--score-flags", default="", help='More flags for quals score, e.g. "--model BUNDLE".')
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    configs = [tuple(int(x) for x in c.split("x")) for c in args.configs.split(",")]
    extra = args.score_flags.split()
    report: dict = {"machine": machine(), "records": args.records, "rounds": args.rounds, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "in.jsonl"
        inp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample_records(args.records)),
                       encoding="utf-8")
        outputs: dict[str, str] = {}
        for rnd in range(args.rounds):
            for w, t in configs:
                out = Path(tmp) / f"out-{w}x{t}.jsonl"
                wall = run_config(inp, out, w, t, extra)
                name = f"{w}x{t}"
                text = out.read_text(encoding="utf-8")
                if outputs.setdefault(name, text) != text or text != next(iter(outputs.values())):
                    raise SystemExit(f"{name} wrote other records than {next(iter(outputs))}: not the same numbers")
                report["runs"].append({"round": rnd, "config": name, "wall_s": wall,
                                       "records_per_s": args.records / wall})
                print(f"round {rnd + 1}: --workers {w} --threads {t}: {wall:.1f} s, "
                      f"{args.records / wall:.2f} records/s", flush=True)
    report["machine_after"] = machine()["load"]
    base = f"{configs[0][0]}x{configs[0][1]}"
    summary = {}
    for w, t in configs:
        name = f"{w}x{t}"
        rates = [r["records_per_s"] for r in report["runs"] if r["config"] == name]
        base_rates = [r["records_per_s"] for r in report["runs"] if r["config"] == base]
        ratios = [a / b for a, b in zip(rates, base_rates)]
        summary[name] = {"records_per_s": statistics.median(rates), "vs_base_per_round": ratios,
                         "vs_base": statistics.median(ratios)}
    report["summary"] = summary
    m = report["machine"]
    print(f"\n{args.records} records, {args.rounds} rounds interleaved, on {m['cpu']} ({m['cores']} cores; load "
          f"{m['load'][0]:.2f} before, {report['machine_after'][0]:.2f} after); same records from every config")
    print("| config | records/s (median) | vs " + base + " (median of rounds) | per round |")
    print("|---|---|---|---|")
    for name, s in summary.items():
        print(f"| --workers {name.split('x')[0]} --threads {name.split('x')[1]} | {s['records_per_s']:.3f} | "
              f"{s['vs_base']:.2f}x | {', '.join(f'{x:.2f}' for x in s['vs_base_per_round'])} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
