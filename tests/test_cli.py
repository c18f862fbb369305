"""The command line: one output record per input record, in order, with clear errors and exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil

from click.testing import CliRunner
from quals.cli import main

SMALL = ["--num-beams", "4", "--num-groups", "2", "--diversity", "0.5", "--max-length", "12", "--min-length", "0"]


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


def test_jsonl_one_record_per_line_in_order_with_bad_lines(bart_bundle, tmp_path):
    lines = [
        json.dumps({"id": "a", "source": "Anna built a bridge in Paris.", "summary": "Anna built a bridge."}).encode(),
        b"not json at all",
        json.dumps({"id": "c", "source": "x"}).encode(),  # no summary
        '{"id": "d", "source": "caf\xe9", "summary": "ok"}'.encode("latin-1"),  # not UTF-8
        json.dumps({"id": "e", "source": "Chen sold it.", "summary": "   "}).encode(),
        b"",
        json.dumps({"id": "f", "source": "Anna built a bridge in Paris.", "summary": "A bridge."}).encode(),
    ]
    inp = tmp_path / "in.jsonl"
    inp.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out.jsonl"
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(out), *SMALL])
    assert r.exit_code == 1, r.output  # some records failed: not 0
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x.get("id") for x in recs] == ["a", None, "c", None, "e", "f"]
    assert [x["status"] for x in recs] == ["no_qa_pairs", "error", "error", "error", "error", "no_qa_pairs"]
    assert "line 2: not JSON" in recs[1]["error"] and "missing field(s): summary" in recs[2]["error"]
    assert "not valid UTF-8" in recs[3]["error"] and "summary is empty" in recs[4]["error"]
    assert all(x["error"].startswith(f"line {n}: ") for x, n in zip(recs[1:5], (2, 3, 4, 5)))  # one format
    assert all(x["quals"] is None for x in recs)
    assert "4 of 6 record(s) could not be scored" in r.stderr


def test_single_pair_and_details_and_signature(bart_bundle):
    r = run(
        [
            "score",
            "--model",
            str(bart_bundle),
            "--source-text",
            "Anna built it.",
            "--summary-text",
            "Anna.",
            "--details",
            "--signature",
            *SMALL,
        ]
    )
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["status"] == "no_qa_pairs" and rec["pairs"] == [] and rec["n_hypotheses"] == 4
    assert r.stderr.startswith("quals|bundle:") and "search:fairseq|beams:4|groups:2" in r.stderr


def test_csv_and_tsv_pass_ids_through(bart_bundle, tmp_path):
    for fmt, delim in (("csv", ","), ("tsv", "\t")):
        inp = tmp_path / f"in.{fmt}"
        with open(inp, "w", newline="") as f:
            w = csv.writer(f, delimiter=delim)
            w.writerow(["doc", "source", "summary"])
            w.writerow(["7", "Anna built a bridge, in Paris.", "Anna built a bridge."])
            w.writerow(["8", "", "x"])
        r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output-format", fmt, *SMALL])
        assert r.exit_code == 1
        rows = list(csv.DictReader(io.StringIO(r.stdout), delimiter=delim))
        assert [row["doc"] for row in rows] == ["7", "8"]
        assert [row["status"] for row in rows] == ["no_qa_pairs", "error"]


def test_stdin_and_empty_input(bart_bundle):
    r = run(["score", "--model", str(bart_bundle), *SMALL], input='{"source": "A b.", "summary": "A."}\n')
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 1
    r = run(["score", "--model", str(bart_bundle), *SMALL], input="")
    assert r.exit_code == 0 and r.stdout == ""


def test_bad_bundle_exits_nonzero_naming_the_file(bart_bundle, tmp_path):
    broken = tmp_path / "b"
    shutil.copytree(bart_bundle, broken)
    (broken / "decoder_model_merged.onnx").write_bytes(b"garbage")
    r = run(["score", "--model", str(broken), "--source-text", "a", "--summary-text", "b"])
    assert r.exit_code == 3 and "decoder_model_merged.onnx: sha256 mismatch" in r.stderr
    r = run(["info", str(tmp_path / "missing")])
    assert r.exit_code == 3 and "not found" in r.stderr


def test_generate_json_lists_every_hypothesis(t5_bundle):
    r = run(
        ["generate", "--model", str(t5_bundle), "--text", "Anna built a bridge.", "--search", "hf", *SMALL, "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert len(out["hypotheses"]) == 4
    h = out["hypotheses"][0]
    assert set(h) >= {"tokens", "text", "score", "token_scores", "finished"}
    assert len(h["token_scores"]) == len(h["tokens"])


def test_info_reports_manifest_sizes_and_providers(bart_bundle):
    r = run(["info", str(bart_bundle)])
    assert r.exit_code == 0
    info = json.loads(r.stdout)
    assert "CPUExecutionProvider" in info["providers_available"]
    assert info["manifest"]["family"] == "bart" and info["total_bytes"] > 0


def test_unknown_provider_or_unavailable_cuda_is_clear(bart_bundle):
    r = run(["score", "--model", str(bart_bundle), "--provider", "cuda", "--source-text", "a", "--summary-text", "b"])
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert r.exit_code == 3 and "CUDAExecutionProvider is not available" in r.stderr
        r = run(
            [
                "score",
                "--model",
                str(bart_bundle),
                "--provider",
                "cuda",
                "--allow-cpu-fallback",
                "--source-text",
                "a",
                "--summary-text",
                "b",
                *SMALL,
            ]
        )
        assert r.exit_code == 0
