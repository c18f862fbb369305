"""quals serve: the API's contract in-process (Starlette's test client), results against `quals score`, every
bad-input class with its status and the service unaffected after it, tokens, deadlines, a dead worker.

The real server process (uvicorn on a loopback port), the OpenAPI property tests and the load test are in
test_serve_process.py.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("prometheus_client")

from click.testing import CliRunner  # noqa: E402
from quals.cli import main  # noqa: E402
from quals.serve.app import create_app, openapi_document  # noqa: E402
from quals.serve.limits import Limits  # noqa: E402
from quals.serve.service import Service, ServiceConfig  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from serve_load import strip_place  # noqa: E402  (a result without its error's place: "line 3: " / "records[2]: ")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "models" / "default"
SMALL = (("num_beams", 6), ("num_groups", 3))  # real pairs from the trained model, quickly
SMALL_FLAGS = ["--num-beams", "6", "--num-groups", "3", "--no-progress"]

needs_default = pytest.mark.skipif(not (DEFAULT / "quals.json").is_file(), reason="no models/default in this checkout")


def records() -> list:
    """Records as a client sends them: ids, an extra field, a bad record of each kind, a lone surrogate."""
    lines = (ROOT / "examples" / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    good = [json.loads(x) for x in lines]
    return [
        good[0],
        {"id": "no-summary", "source": "A source."},
        {**good[1], "tag": ["kept", 1]},
        {"id": "not-text", "source": 3, "summary": "x"},
        {"id": "empty", "source": "S.", "summary": "  "},
        {"id": "surrogate", "source": "The vote was held in Oslo.", "summary": "The vote was in Oslo \udcff."},
        good[2],
        {"id": "ada", "source": "Ada Lovelace wrote the first program in 1843.",
         "summary": "Ada Lovelace wrote a program in 1843."},
    ]


def wait_ready(client: TestClient, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < end, client.get("/readyz").json()
        time.sleep(0.05)


def open_client(model, limits: Limits | None = None, overrides=(), workers: int = 1, token: str | None = None):
    service = Service.open(ServiceConfig(model=model, workers=workers, threads=1, limits=limits or Limits(),
                                         overrides=overrides))
    return service, TestClient(create_app(service, token=token, drain_timeout=5.0))


@pytest.fixture(scope="module")
def client():
    if not (DEFAULT / "quals.json").is_file():
        pytest.skip("no models/default in this checkout")
    service, c = open_client(DEFAULT, Limits(max_records=16, max_text_chars=5_000, max_body_bytes=200_000,
                                             queue_records=64), SMALL)
    with c:
        wait_ready(c)
        yield c


def cli_records(tmp_path: Path, recs: list, *flags: str) -> tuple[list[dict], str]:
    """What `quals score --details` writes for the same records (and its signature)."""
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    r = CliRunner().invoke(main, ["score", "--model", str(DEFAULT), "--input", str(inp), "--output", str(out),
                                  "--details", "--signature", "--threads", "1", *SMALL_FLAGS, *flags])
    assert r.exit_code in (0, 1), r.output
    signature = next(line for line in r.stderr.splitlines() if line.startswith("quals|"))
    return [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()], signature


@needs_default
@pytest.mark.parametrize("variant", ["paper", "clean", "ans_lm"])
def test_results_are_what_quals_score_writes(client, tmp_path, variant):
    recs = records()
    # As bytes: a JSON escape is how a client sends a lone surrogate (\udcff), not UTF-8 it cannot encode.
    r = client.post("/v1/score", content=json.dumps({"records": recs, "details": True, "variant": variant}))
    assert r.status_code == 200, r.text
    body = r.json()
    expected, signature = cli_records(tmp_path, recs, "--variant", variant)
    assert body["signature"] == signature
    got = body["results"]
    assert len(got) == len(recs)
    # Bit for bit: JSON floats round-trip exactly, so equal dicts mean equal numbers.
    assert [strip_place(g) for g in got] == [strip_place(e) for e in expected]
    assert [g["status"] for g in got] == ["ok", "error", "ok", "error", "error", "error", "ok", "ok"]
    assert got[1]["error"] == "records[1]: missing field(s): summary"
    assert got[4]["error"].startswith("records[4]: summary is empty")
    assert got[2]["tag"] == ["kept", 1] and got[0]["id"] == recs[0]["id"]
    assert all(g["variant"] == variant for g in got)


@needs_default
def test_drop_text_and_no_details_match_the_cli(client, tmp_path):
    recs = records()[:3]
    got = client.post("/v1/score", json={"records": recs, "drop_text": True}).json()["results"]
    inp, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    CliRunner().invoke(main, ["score", "--model", str(DEFAULT), "--input", str(inp), "--output", str(out),
                              "--drop-text", "--threads", "1", *SMALL_FLAGS])
    expected = [json.loads(x) for x in out.read_text().splitlines()]
    assert [strip_place(g) for g in got] == [strip_place(e) for e in expected]
    assert all("source" not in g and "pairs" not in g for g in got)


@needs_default
def test_empty_records_is_an_empty_answer(client):
    r = client.post("/v1/score", json={"records": []})
    assert r.status_code == 200 and r.json()["results"] == []


def error_of(r, status: int, kind: str, field: str | None = None) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["status"] == status and err["kind"] == kind, err
    if field is not None:
        assert err.get("field") == field, err
    return err["message"]


@needs_default
def test_every_bad_input_gets_its_status_and_the_service_goes_on(client):
    ok = {"records": [{"source": "Ada Lovelace wrote the first program.", "summary": "Ada wrote a program."}]}
    cases = [
        (client.post("/v1/score", content=b'{"records": [', headers={"content-type": "application/json"}),
         400, "bad_request", None),
        (client.post("/v1/score", content=b'{"records": []}\xff'), 400, "bad_request", None),
        (client.post("/v1/score", content=b'{"records": [{"source": NaN}]}'), 400, "bad_request", None),
        (client.post("/v1/score", content=b""), 400, "bad_request", None),
        (client.post("/v1/score", json=[1, 2]), 422, "invalid", None),
        (client.post("/v1/score", json={}), 422, "invalid", "records"),
        (client.post("/v1/score", json={"records": {"source": "s"}}), 422, "invalid", "records"),
        (client.post("/v1/score", json={**ok, "detail": True}), 422, "invalid", "detail"),
        (client.post("/v1/score", json={**ok, "details": "yes"}), 422, "invalid", "details"),
        (client.post("/v1/score", json={**ok, "variant": "best"}), 422, "invalid", "variant"),
        (client.post("/v1/score", json={"records": [{"source": "s" * 5_001, "summary": "s"}]}), 422, "invalid",
         "records[0].source"),
        (client.post("/v1/score", json={"records": [{"source": "s", "summary": "s"}] * 17}), 413, "too_large",
         "records"),
        (client.post("/v1/score", content=b" " * 200_001), 413, "too_large", None),
        (client.post("/v1/score", content=iter([b'{"records": [', b" " * 200_000, b"]}"])), 413, "too_large", None),
        (client.post("/v1/score", content=b"records=1", headers={"content-type": "application/x-www-form-urlencoded"}),
         415, "unsupported_media_type", None),
        (client.post("/v1/explain", json={"source": "s"}), 422, "invalid", "summary"),
        (client.post("/v1/explain", json={"source": "s", "summary": 1}), 422, "invalid", "summary"),
        (client.post("/v1/explain", json={"source": "s", "summary": "t", "format": "pdf"}), 422, "invalid", "format"),
        (client.get("/v1/nothing"), 404, "not_found", None),
        (client.get("/v1/score"), 405, "method_not_allowed", None),
    ]
    for r, status, kind, field in cases:
        message = error_of(r, status, kind, field)
        assert message and "Traceback" not in message
    assert "5,001 characters" in error_of(cases[10][0], 422, "invalid") and "--max-text-chars" in cases[10][0].text
    assert "at most 16" in cases[11][0].text
    r = client.post("/v1/score", json=ok)
    assert r.status_code == 200 and r.json()["results"][0]["status"] in ("ok", "no_qa_pairs")
    metrics = client.get("/metrics").text
    for kind in ("bad_request", "invalid", "too_large", "unsupported_media_type", "not_found"):
        assert f'quals_errors_total{{kind="{kind}"}}' in metrics


@needs_default
def test_explain_json_and_page(client):
    from quals import Scorer
    from quals.tasks.explain import explain

    src = "Ada Lovelace wrote the first program in 1843 for the Analytical Engine."
    summ = "Ada Lovelace wrote a program in 1843."
    r = client.post("/v1/explain", json={"source": src, "summary": summ})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    scorer = Scorer.load(DEFAULT, threads=1, **dict(SMALL))
    assert r.json() == json.loads(json.dumps(explain(scorer, src, summ).to_dict()))
    page = client.post("/v1/explain", json={"source": src, "summary": summ, "format": "html", "variant": "clean"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # Its only script element is data (application/json), never code.
    assert page.text.count("<script") == page.text.count('<script type="application/json"') == 1
    assert "Ada Lovelace" in page.text and "variant:clean" in page.text
    err = client.post("/v1/explain", json={"source": src, "summary": " "}).json()
    assert err["status"] == "error" and err["error"] == "summary is empty"


@needs_default
def test_info_probes_and_metrics(client):
    info = client.get("/v1/info").json()
    assert info["signature"].startswith("quals|bundle:") and info["variant"] == "paper"
    assert info["limits"]["max_records"] == 16 and info["limits"]["max_source_tokens"] == 510
    assert info["workers"]["ready"] and info["workers"]["processes"][0]["peak_rss_bytes"] > 10_000_000
    assert info["bundle"]["card"] and "QA" in info["bundle"]["card"]
    # the shipped calibration, named as the signature names it
    assert f"cal:{info['calibration']['id'][:12]}" in info["signature"]
    assert 0 <= info["calibration"]["inconsistent_below"] <= info["calibration"]["consistent_from"] <= 1
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    client.post("/v1/score", json={"records": [records()[0]]})
    text = client.get("/metrics").text
    for name in ("quals_http_requests_total", "quals_http_request_seconds_bucket", "quals_records_total",
                 "quals_queue_records", "quals_inflight_records", "quals_workers_ready 1.0",
                 "quals_worker_rss_bytes", "quals_worker_restarts_total 0.0", "process_resident_memory_bytes"):
        assert name in text, name
    assert 'quals_http_requests_total{route="score",status="200"}' in text
    served = client.get("/v1/openapi.json").json()
    assert served == openapi_document() == json.loads(
        (ROOT / "runtime" / "quals" / "serve" / "openapi.json").read_text(encoding="utf-8"))


def test_routes_are_the_documented_ones(bart_bundle):
    service, c = open_client(bart_bundle)
    doc = openapi_document()
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = {(r.path, m) for r in c.app.routes for m in r.methods if m != "HEAD"}
    assert served == documented


def test_token_guards_everything_but_the_probes(bart_bundle):
    service, c = open_client(bart_bundle, token="s3cret")
    body = {"records": [{"source": "The cat sat.", "summary": "A cat sat."}]}
    with c:
        wait_ready(c)
        for path in ("/v1/info", "/metrics"):
            r = c.get(path)
            error_of(r, 401, "unauthorized")
            assert r.headers["www-authenticate"] == "Bearer"
        error_of(c.post("/v1/score", json=body, headers={"authorization": "Bearer wrong"}), 401, "unauthorized")
        error_of(c.post("/v1/score", json=body, headers={"authorization": "s3cret"}), 401, "unauthorized")
        assert c.post("/v1/score", json=body, headers={"authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/readyz").status_code == 200


def test_deadline_is_504_and_the_queue_is_left_clean(bart_bundle):
    service, c = open_client(bart_bundle, Limits(deadline_s=0.001), overrides=(("num_beams", 60),))
    body = {"records": [{"source": "The cat sat on the mat.", "summary": "A cat sat."}] * 8}
    with c:
        wait_ready(c)
        message = error_of(c.post("/v1/score", json=body), 504, "deadline")
        assert "--deadline" in message
        end = time.monotonic() + 30
        while service.dispatcher.queued or service.dispatcher.inflight:
            assert time.monotonic() < end
            time.sleep(0.05)
        assert c.get("/healthz").status_code == 200
        assert 'quals_errors_total{kind="deadline"} 1.0' in c.get("/metrics").text


def test_a_dead_worker_fails_its_request_and_the_pool_is_replaced(bart_bundle):
    service, c = open_client(bart_bundle, overrides=(("num_beams", 60), ("max_length", 60)))
    body = {"records": [{"source": "The cat sat on the mat.", "summary": "A cat sat."}]}
    with c:
        wait_ready(c)
        pid = service.dispatcher.workers_info[0].pid
        # The worker dies while it holds this request's records.
        import threading

        killer = threading.Timer(0.3, os.kill, (pid, signal.SIGKILL))
        killer.start()
        big = {"records": body["records"] * 48}
        r = c.post("/v1/score", json=big)
        killer.join()
        error_of(r, 503, "worker_died")
        assert r.headers["retry-after"]
        wait_ready(c)
        assert c.post("/v1/score", json=body).status_code == 200
        assert c.get("/v1/info").json()["workers"]["restarts"] == 1


def test_limits_refuse_a_request_that_could_never_be_queued():
    from quals.errors import OptionsError

    with pytest.raises(OptionsError, match="queue_records"):
        Limits(max_records=10, queue_records=5)
    with pytest.raises(OptionsError, match="deadline_s"):
        Limits(deadline_s=0)
