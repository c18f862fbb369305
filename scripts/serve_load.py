"""Load test of `quals serve` on loopback: nothing lost, nothing changed, and what it costs.

Starts a real server process, then
1. steady load: --requests requests of --records-per-request records each, --concurrency at a time; every
   response must be 200 and every result equal, bit for bit, to what `quals score` writes for that record;
2. overload: 2 x --queue-records one-record requests at once; the ones that do not fit must get 429 with a
   Retry-After, the others their exact results (nothing half-answered, nothing lost);
3. SIGTERM: the server must drain and exit 0.
It prints latency p50/p95 and records/s beside `quals score --workers N` on the same records (a benchmark's
figures, measured in this run; nothing here asserts a time), the RSS of each scoring process, and writes the
figures as JSON (--json). Exit status 1 when a record was lost or changed or a status was wrong.

    python scripts/serve_load.py --workers 2 --threads 1 --requests 300 --concurrency 8 --json build/serve-load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from quals.run.pool import rss_bytes

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_records(path: Path) -> list[dict]:
    recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not recs:
        raise SystemExit(f"{path} holds no records")
    return recs


def reference(records: list[dict], model_flags: list[str], workers: int, threads: int) -> tuple[list[dict], float]:
    """`quals score` on `records`: its output records and its wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.jsonl", Path(tmp) / "out.jsonl"
        inp.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "quals", "score", "--input", str(inp), "--output", str(out),
                        "--workers", str(workers), "--threads", str(threads), "--no-progress", *model_flags],
                       check=False, capture_output=True)
        wall = time.perf_counter() - start
        return [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()], wall


def strip_place(rec: dict) -> dict:
    """A result without its error's place ("line 3: " in files, "records[0]: " in the service)."""
    rec = dict(rec)
    if "error" in rec:
        rec["error"] = rec["error"].split(": ", 1)[1]
    return rec


class Server:
    def __init__(self, flags: list[str], port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "quals", "serve", "--port", str(port),
                                      "--no-access-log", *flags], stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 180.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"the server was not ready in {timeout:g} s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


async def fire(url: str, bodies: list[dict], concurrency: int) -> tuple[list[httpx.Response], list[float], float]:
    """POST every body to /v1/score, `concurrency` at a time: responses and latencies in order, and the wall."""
    sem = asyncio.Semaphore(concurrency)
    responses: list[httpx.Response | None] = [None] * len(bodies)
    latencies = [0.0] * len(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:

        async def one(i: int) -> None:
            async with sem:
                t = time.perf_counter()
                responses[i] = await client.post("/v1/score", content=json.dumps(bodies[i]),
                                                 headers={"content-type": "application/json"})
                latencies[i] = time.perf_counter() - t

        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(len(bodies))))
        wall = time.perf_counter() - start
    return [r for r in responses if r is not None], latencies, wall


def check(responses: list[httpx.Response], bodies: list[dict], expected: dict[str, dict],
          allowed: tuple[int, ...] = (200,)) -> dict:
    """Count statuses; every 200's results must equal the reference, every 429 or 503 must carry Retry-After."""
    statuses: dict[str, int] = {}
    lost = changed = bad = 0
    for r, body in zip(responses, bodies):
        statuses[str(r.status_code)] = statuses.get(str(r.status_code), 0) + 1
        if r.status_code not in allowed:
            bad += 1
            continue
        if r.status_code != 200:  # a refusal: 429 and 503 say when to come back
            bad += r.status_code in (429, 503) and "retry-after" not in r.headers
            continue
        results = r.json()["results"]
        lost += max(0, len(body["records"]) - len(results))
        for rec, res in zip(body["records"], results):
            changed += strip_place(res) != strip_place(expected[rec["id"]])
    return {"statuses": statuses, "lost": lost, "changed": changed, "wrong_status": bad}


def pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="Bundle (default: the shipped model).")
    ap.add_argument("--input", type=Path, default=ROOT / "examples" / "pairs.jsonl")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--records-per-request", type=int, default=1)
    ap.add_argument("--queue-records", type=int, default=32)
    ap.add_argument("--search-flags", default="", help='Extra scoring flags for both, e.g. "--num-beams 6".')
    ap.add_argument("--json", type=Path, default=None, help="Write the figures here.")
    args = ap.parse_args(argv)

    model_flags = (["--model", args.model] if args.model else []) + args.search_flags.split()
    base = base_records(args.input)
    n_records = args.requests * args.records_per_request
    records = [{**base[i % len(base)], "id": f"r{i}"} for i in range(n_records)]
    bodies = [{"records": records[i:i + args.records_per_request]} for i in range(0, n_records,
                                                                                   args.records_per_request)]
    print(f"reference: quals score --workers {args.workers} --threads {args.threads} on {n_records} records",
          file=sys.stderr)
    ref, ref_wall = reference(records, model_flags, args.workers, args.threads)
    # Its start-up (a model load per process) measured apart: the same command on one record per process.
    _, start_wall = reference(records[:args.workers], model_flags, args.workers, args.threads)
    expected = {r["id"]: r for r in ref}

    port = free_port()
    server = Server(["--workers", str(args.workers), "--threads", str(args.threads), "--queue-records",
                     str(args.queue_records), "--max-records", str(min(args.queue_records, 64)), *model_flags],
                    port)
    report: dict = {"cpu": os.cpu_count(), "workers": args.workers, "threads": args.threads,
                    "requests": args.requests, "concurrency": args.concurrency,
                    "records_per_request": args.records_per_request, "queue_records": args.queue_records}
    try:
        server.wait_ready()
        info = httpx.get(server.url + "/v1/info").json()
        report["signature"] = info["signature"]
        # 1. steady load
        responses, latencies, wall = asyncio.run(fire(server.url, bodies, args.concurrency))
        steady = check(responses, bodies, expected)
        steady.update(p50_s=pct(latencies, 50), p95_s=pct(latencies, 95), records_per_s=n_records / wall,
                      wall_s=wall)
        report["steady"] = steady
        scored = max(1, n_records - args.workers)
        report["quals_score"] = {"records_per_s": n_records / ref_wall, "wall_s": ref_wall,
                                 "startup_s": start_wall,
                                 "records_per_s_after_startup": scored / max(1e-9, ref_wall - start_wall)}
        # 2. overload: twice the queue's bound at once, one record each
        burst_bodies = [{"records": [records[i % n_records]]} for i in range(2 * args.queue_records)]
        responses, latencies, wall = asyncio.run(fire(server.url, burst_bodies, len(burst_bodies)))
        burst = check(responses, burst_bodies, expected, allowed=(200, 429))
        report["overload"] = burst
        info = httpx.get(server.url + "/v1/info").json()
        report["worker_rss_mb"] = [round((p["rss_bytes"] or 0) / 2**20, 1) for p in info["workers"]["processes"]]
        report["worker_peak_rss_mb"] = [round(p["peak_rss_bytes"] / 2**20, 1) for p in info["workers"]["processes"]]
        report["server_rss_mb"] = round((rss_bytes(server.proc.pid) or 0) / 2**20, 1)
    finally:
        report["exit_code"] = server.stop()
    ok = (report.get("steady", {}).get("lost") == 0 and report["steady"]["changed"] == 0
          and report["steady"]["wrong_status"] == 0 and report["overload"]["lost"] == 0
          and report["overload"]["changed"] == 0 and report["overload"]["wrong_status"] == 0
          and report["overload"]["statuses"].get("429", 0) > 0 and report["exit_code"] == 0)
    report["ok"] = ok
    s = report["steady"]
    print(f"steady: {args.requests} requests x {args.records_per_request} record(s) at concurrency "
          f"{args.concurrency}: statuses {s['statuses']}, lost {s['lost']}, changed {s['changed']}; latency p50 "
          f"{s['p50_s']:.3f} s, p95 {s['p95_s']:.3f} s; {s['records_per_s']:.2f} records/s "
          f"(quals score --workers {args.workers} on the same records: {report['quals_score']['records_per_s']:.2f} "
          f"records/s, {report['quals_score']['records_per_s_after_startup']:.2f} after its "
          f"{report['quals_score']['startup_s']:.1f} s start-up; service / after-start-up "
          f"{s['records_per_s'] / report['quals_score']['records_per_s_after_startup']:.2f})")
    b = report["overload"]
    print(f"overload: {2 * args.queue_records} requests at once, queue {args.queue_records}: statuses "
          f"{b['statuses']}, lost {b['lost']}, changed {b['changed']}")
    print(f"scoring processes: RSS {report['worker_rss_mb']} MB (peak {report['worker_peak_rss_mb']}); server "
          f"process {report.get('server_rss_mb')} MB; "
          f"server exit {report['exit_code']}; {'OK' if ok else 'FAILED'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if not ok:
        print(server.output()[-4000:], file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
