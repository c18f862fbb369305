"""Per-summary timing of the Python runtime on a JSONL file, to compare with the Java CLI on the same inputs.

Usage: .venv/bin/python hosts/java/tools/time_python.py BUNDLE INPUT.jsonl [THREADS]
Prints one JSON result per line (stdout) and wall / scoring-thread CPU mean and median (stderr).
"""

import json
import statistics
import sys
import time

from quals import Scorer


def main():
    bundle, path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    t0 = time.time()
    scorer = Scorer.load(bundle, threads=threads)
    load = time.time() - t0
    wall, cpu = [], []
    for line in open(path, encoding="utf-8"):
        if not line.strip():
            continue
        rec = json.loads(line)
        w, c = time.perf_counter(), time.thread_time()  # onnxruntime with 1 thread runs on this thread
        result = scorer.score_one(rec["source"], rec["summary"])
        wall.append(time.perf_counter() - w)
        cpu.append(time.thread_time() - c)
        print(json.dumps(result.to_dict()))
    print(f"quals-python: {len(wall)} records, load {load:.2f} s, per summary wall mean {statistics.mean(wall):.3f} s, "
          f"median {statistics.median(wall):.3f} s; scoring-thread CPU mean {statistics.mean(cpu):.3f} s, "
          f"median {statistics.median(cpu):.3f} s (threads={threads})", file=sys.stderr)


if __name__ == "__main__":
    main()
