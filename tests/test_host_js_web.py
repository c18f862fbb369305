"""The JavaScript host's page (hosts/js/web/) scores a record in a real headless browser (Debian's chromium) with
onnxruntime-web, and gives Python's numbers.

The test serves hosts/js and a bundle on loopback, cross-origin isolated (COOP/COEP headers, so the page runs
WebAssembly threads), opens the page with the record in its query string and `auto=1`, and waits for the page
to POST its result back. It needs chromium and hosts/js/node_modules (`npm ci` in hosts/js: run here when npm is
present). Without them the test skips, except in CI (QUALS_REQUIRE_BROWSER=1 for chromium, QUALS_REQUIRE_HOSTS=1
or QUALS_REQUIRE_BROWSER=1 for Node's packages), where it fails.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT
from quals import Scorer
from quals.models import default_model

HOST = ROOT / "hosts" / "js"
SOURCE = ("Maria Lopez, 34, won the regional chess title in Porto for the third time on Sunday, beating the "
          "defending champion Joao Silva in the final round. The tournament drew 120 players from six countries.")
SUMMARY = "Maria Lopez beat Joao Silva to win the chess title in Porto for the third time."
TOLERANCE = 1e-4
TIMEOUT_S = 300


def _required(*names: str) -> bool:
    return any(os.environ.get(n) == "1" for n in names)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if _required("QUALS_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing (apt-get install chromium); CI requires the browser test")
        pytest.skip("no chromium here (apt-get install chromium); CI installs it and requires this test")
    return found


def _node_modules() -> None:
    if (HOST / "node_modules" / "onnxruntime-web").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        if _required("QUALS_REQUIRE_HOSTS", "QUALS_REQUIRE_BROWSER"):
            pytest.fail("npm is missing: the page needs hosts/js/node_modules (npm ci in hosts/js); CI requires it")
        pytest.skip("no hosts/js/node_modules and no npm to install it (npm ci in hosts/js)")
    proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HOST, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        shutil.rmtree(HOST / "node_modules", ignore_errors=True)
        message = f"npm ci in hosts/js failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        if _required("QUALS_REQUIRE_HOSTS", "QUALS_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)


class _Handler(SimpleHTTPRequestHandler):
    """hosts/js at /, the bundle at /model/, POST /report; cross-origin isolated (COOP/COEP)."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript",
                      ".wasm": "application/wasm", ".json": "application/json", ".onnx": "application/octet-stream"}

    def __init__(self, *args, bundle: Path, reports: queue.Queue, **kwargs):
        self.bundle = bundle
        self.reports = reports
        super().__init__(*args, directory=str(HOST), **kwargs)

    def translate_path(self, path: str) -> str:
        clean = urllib.parse.urlsplit(path).path
        if clean.startswith("/model/"):
            name = urllib.parse.unquote(clean[len("/model/"):])
            return str(self.bundle / name) if name and "/" not in name else str(self.bundle / "..missing")
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        if urllib.parse.urlsplit(self.path).path != "/report":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reports.put(json.loads(body.decode("utf-8")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture()
def served(tmp_path):
    bundle = default_model()
    if bundle is None:
        pytest.skip("no shipped default model")
    reports: queue.Queue = queue.Queue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, bundle=Path(bundle), reports=reports))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Path(bundle), reports
    finally:
        server.shutdown()
        server.server_close()


def test_page_scores_like_python_in_headless_chromium(served, tmp_path):
    browser = _chromium()
    _node_modules()
    base, bundle, reports = served
    query = urllib.parse.urlencode({"model": "/model/", "source": SOURCE, "summary": SUMMARY, "auto": "1",
                                    "report": "/report"})
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
             "--disable-extensions", "--remote-debugging-port=0", f"--user-data-dir={tmp_path / 'profile'}"]
    proc = subprocess.Popen([browser, *flags, f"{base}/web/index.html?{query}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        try:
            got = reports.get(timeout=TIMEOUT_S)
        except queue.Empty:
            pytest.fail(f"the page reported nothing in {TIMEOUT_S} s")
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert "error" not in got or got.get("status") == "error", f"the page failed: {got}\n{err.decode()[-3000:]}"

    scorer = Scorer.load(bundle, threads=1)
    want = scorer.score_one(SOURCE, SUMMARY).to_dict(details=True)
    assert got["cross_origin_isolated"] is True and got["threads"] >= 1
    for key in ("status", "n_pairs", "n_hypotheses", "n_span_valid", "source_tokens", "summary_tokens", "variant"):
        assert got[key] == want[key], (key, got[key], want[key])
    assert want["status"] == "ok", "the record should yield QA pairs, else the comparison proves little"
    assert abs(got["quals"] - want["quals"]) <= TOLERANCE, (got["quals"], want["quals"])
    assert [(p["question"], p["answer"]) for p in got["pairs"]] == [(p["question"], p["answer"]) for p in want["pairs"]]
    for g, w in zip(got["pairs"], want["pairs"]):
        for key in ("s_x", "s_y", "value"):
            assert abs(g[key] - w[key]) <= TOLERANCE, (key, g, w)
    assert got["signature"].split("|")[1] == f"bundle:{scorer.bundle.digest[:12]}"
