"""What a real user's files and mistakes do to `quals score`/`evaluate`/`export`: every record gets its output
record, every failure a clear message and the documented exit code (0 all scored, 1 some records failed,
2 usage, 3 bundle/provider, 4 export)."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from quals import Scorer
from quals import models as quals_models
from quals.cli import export as export_cli
from quals.cli import main
from quals.cli.records import read_input

SMALL = ["--num-beams", "4", "--num-groups", "2", "--diversity", "0.5", "--max-length", "12", "--min-length", "0"]
LONG = " ".join(f"Sentence number {i} says that Anna met Tom in Paris." for i in range(40))  # > 126 tokens


def run(args, input=None):
    return CliRunner().invoke(main, args, input=input)


def strict_json(line: str):
    def no(c):
        raise AssertionError(f"not JSON: {c}")

    return json.loads(line, parse_constant=no)


def test_lone_surrogates_do_not_stop_the_run(bart_bundle, tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text(
        '{"id": "a\\udcff", "source": "Anna built it.", "summary": "Anna."}\n'
        '{"id": "b", "source": "caf\\ud800e", "summary": "x\\udfffy"}\n'
        '{"id": "c", "source": "Anna built it.", "summary": "Anna."}\n',
        encoding="ascii",
    )
    out = tmp_path / "out.jsonl"
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(out), *SMALL])
    lines = out.read_bytes().decode("utf-8").splitlines()
    recs = [strict_json(x) for x in lines]
    assert [x["id"] for x in recs] == ["a\udcff", "b", "c"]
    assert recs[0]["status"] == "no_qa_pairs" and recs[2]["status"] == "no_qa_pairs"
    assert recs[1]["status"] == "error" and "lone surrogate" in recs[1]["error"]  # no tokenizer can take one
    assert r.exit_code == 1


def test_missing_input_and_unwritable_output_are_usage_errors(bart_bundle, tmp_path):
    r = run(["score", "--model", str(bart_bundle), "--input", str(tmp_path / "nope.jsonl")])
    assert r.exit_code == 2 and "cannot read --input" in r.stderr and "Traceback" not in r.output
    inp = tmp_path / "in.jsonl"
    inp.write_text('{"source": "a", "summary": "b"}\n')
    for bad in (tmp_path / "no" / "such" / "dir.jsonl", tmp_path):
        r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(bad)])
        assert r.exit_code == 2 and "cannot write --output" in r.stderr, r.output
    r = run(["evaluate", "--model", str(bart_bundle), "--benchmark", str(inp), "--json", str(tmp_path / "x" / "y")])
    assert r.exit_code == 2 and "cannot write --json" in r.stderr


def test_export_and_quantize_without_the_extra_exit_4_with_the_install_hint(tmp_path, monkeypatch):
    if importlib_has("torch"):  # the full environment: pretend a module of the extra is missing
        monkeypatch.setattr(export_cli, "EXPORT_MODULES", ("quals_no_such_module",))
        monkeypatch.setattr(export_cli, "QUANTIZE_MODULES", ("quals_no_such_module",))
    src = tmp_path / "ckpt"
    src.mkdir()
    for cmd in ("export", "quantize"):
        r = run([cmd, str(src), str(tmp_path / "out")])
        assert r.exit_code == 4, r.output
        assert "pip install" in r.stderr and "quals[export]" in r.stderr and "Traceback" not in r.output


def importlib_has(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_source_limit_is_enforced_and_truncation_reported(bart_bundle, tmp_path):
    r = run(["score", "--model", str(bart_bundle), "--max-source-tokens", "2000", "--source-text", LONG,
             "--summary-text", "Anna met Tom."])
    assert r.exit_code == 2 and "above this bundle's limit of 126" in r.stderr
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "source": s, "summary": "Anna met Tom."}) + "\n"
                           for i, s in enumerate([LONG, "Anna met Tom.", LONG])))
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), *SMALL])
    assert r.exit_code == 0
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["source_truncated"] for x in recs] == [True, False, True]
    assert "truncated to the first 126 tokens: the source of 2 and the summary of 0 of 3 record(s)" in r.stderr


def test_output_format_follows_the_output_not_the_input(bart_bundle, tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text("id,source,summary\n1,Anna built it.,Anna.\n")
    out = tmp_path / "out.jsonl"
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(out), *SMALL])
    assert r.exit_code == 0
    assert strict_json(out.read_text())["id"] == "1"
    out_tsv = tmp_path / "out.tsv"
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(out_tsv), *SMALL])
    assert next(csv.DictReader(io.StringIO(out_tsv.read_text()), delimiter="\t"))["id"] == "1"
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(out_tsv),
             "--output-format", "jsonl", *SMALL])
    assert strict_json(out_tsv.read_text())["status"] == "no_qa_pairs"


def test_bom_input_through_the_cli(bart_bundle, tmp_path):
    inp = tmp_path / "excel.csv"
    inp.write_bytes("\ufeffid,source,summary\r\n1,Anna built it.,Anna.\r\n".encode())
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), *SMALL])
    assert r.exit_code == 0 and strict_json(r.stdout)["status"] == "no_qa_pairs"


def test_drop_text_keeps_ids_and_results_only(bart_bundle, tmp_path):
    rec = {"id": "x", "source": "Anna built it. " * 20, "summary": "Anna.", "meta": {"k": 1}}
    r = run(["score", "--model", str(bart_bundle), "--drop-text", *SMALL], input=json.dumps(rec) + "\n")
    out = strict_json(r.stdout)
    assert "source" not in out and "summary" not in out and out["id"] == "x" and out["meta"] == {"k": 1}
    inp = tmp_path / "in.csv"
    inp.write_text("id,source,summary\n1,Anna built it.,Anna.\n")
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output-format", "csv", "--drop-text",
             *SMALL])
    assert r.stdout.splitlines()[0].startswith("id,quals,")


def test_info_names_its_argument_and_stdin_at_a_terminal_is_announced(monkeypatch, capsys):
    monkeypatch.setattr(quals_models, "default_model", lambda: None)
    r = run(["info"])
    assert r.exit_code == 2 and "no bundle given" in r.stderr and "--model" not in r.stderr

    class Tty(io.TextIOWrapper):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Tty(io.BytesIO(b'{"source": "a", "summary": "b"}\n')))
    assert read_input("-", "jsonl") == [{"source": "a", "summary": "b"}]
    assert "reading records from stdin" in capsys.readouterr().err


def test_cpu_fallback_warns_once(bart_bundle, caplog):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available: there is no fallback to see")
    with caplog.at_level(logging.WARNING, logger="quals"):
        r = run(["score", "--model", str(bart_bundle), "--provider", "cuda", "--allow-cpu-fallback",
                 "--source-text", "a", "--summary-text", "b", *SMALL])
    assert r.exit_code == 0
    assert sum("falling back to CPU" in m.getMessage() for m in caplog.records) == 1


def test_evaluate_json_is_valid_and_label_kind_is_honoured(bart_bundle, tmp_path):
    bench = tmp_path / "b.jsonl"
    recs = [{"source": f"Anna built bridge {i}.", "summary": f"Anna built bridge {i}.", "label": i % 2,
             "label_kind": "graded (Likert 1-5, rescaled)", "origin": "o1" if i < 4 else "o2"} for i in range(8)]
    bench.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8-sig")  # with a BOM
    out = tmp_path / "r.json"
    args = ["evaluate", "--model", str(bart_bundle), "--benchmark", str(bench), "--json", str(out), "--bootstrap",
            "5", "--no-progress", *SMALL]
    r = run(args)
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in the JSON report"))["rows"]
    assert {x["label_kind"] for x in rows} == {"graded"}  # 0/1 labels, declared graded: correlations
    assert all(set(x["metrics"]) in (set(), {"pearson", "spearman"}) for x in rows)
    r = run([*args, "--label-kind", "binary"])
    rows = json.loads(out.read_text())["rows"]
    assert r.exit_code == 0 and {x["label_kind"] for x in rows} == {"binary"}


def test_evaluate_one_class_writes_null_not_nan(bart_bundle, tmp_path, monkeypatch):
    from quals.tasks import evaluate as ev

    bench = tmp_path / "b.jsonl"
    bench.write_text("".join(json.dumps({"source": "S.", "summary": f"s{i}.", "label": 1}) + "\n" for i in range(4)))
    # Scores for every record (the tiny model finds no pairs), so the row has numbers but one class only.
    fake = [ev.ScoredRecord(r, "ok", {"paper": float(r.index), "clean": float(r.index)}, 1)
            for r in ev.load_benchmark(bench)]
    monkeypatch.setattr(ev, "score_records", lambda *a, **k: fake)
    out = tmp_path / "r.json"
    r = run(["evaluate", "--model", str(bart_bundle), "--benchmark", str(bench), "--json", str(out), "--bootstrap",
             "5", "--no-progress"])
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c} in the JSON report"))["rows"]
    assert rows[0]["metrics"]["roc_auc"]["value"] is None and rows[0]["bacc_threshold"] is None


def test_scorer_refuses_a_bare_string_and_takes_any_iterable(bart_bundle):
    from quals import InputError

    s = Scorer.load(bart_bundle, num_beams=4, num_groups=2, max_length=12, min_length=0)
    with pytest.raises(InputError, match="not one str"):
        s.score("a source", "a summary")
    res = s.score((x for x in ["Anna built it."]), iter(["Anna."]))
    assert len(res) == 1 and res[0].status == "no_qa_pairs"
    hyps = s.generate("Anna built it.")
    special = [s.manifest.separator.text, *s.codec.tokenizer.decode([s.manifest.tokens.eos], skip_special_tokens=False)
               .split()]
    assert hyps and all(h.text is not None and not any(x in h.text for x in special) for h in hyps)


def _quals_cmd() -> list[str]:
    return [sys.executable, "-c", "from quals.cli import main; main()"]


def _kill_after_lines(proc: subprocess.Popen, partial: Path, lines: int) -> None:
    """SIGKILL `proc` once `partial` holds `lines` lines (or after 120 s, or when it ended by itself)."""
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if partial.exists() and partial.read_bytes().count(b"\n") >= lines:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_killed_run_resumes_after_its_last_whole_record(bart_bundle, tmp_path, fmt):
    n = 60  # about 75 ms each on the tiny model with the default search: killed after 10
    recs = [{"id": f"r{i}", "source": f"Anna built bridge number {i} in Paris, with Tom.", "summary": f"Anna {i}."}
            for i in range(n)]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in recs))
    args = ["score", "--model", str(bart_bundle), "--input", str(inp), "--threads", "1"]  # default batch size
    full, part = tmp_path / f"full.{fmt}", tmp_path / f"part.{fmt}"
    partial = tmp_path / f"part.{fmt}.partial"
    part.write_bytes(b"an earlier run's results\n")  # a killed run must leave the file it would replace alone
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run([*_quals_cmd(), *args, "--output", str(full)], check=True, env=env, capture_output=True)
    assert not (tmp_path / f"full.{fmt}.partial").exists()
    _kill_after_lines(subprocess.Popen([*_quals_cmd(), *args, "--output", str(part)], env=env,
                                        stderr=subprocess.PIPE), partial, 10)
    assert part.read_bytes() == b"an earlier run's results\n"
    written = partial.read_bytes()
    assert written.endswith(b"\n"), "a killed run left a partial record"
    n_lines = written.count(b"\n")
    assert 10 <= n_lines < n + (fmt == "csv"), "the run was not killed mid-way"
    with open(partial, "ab") as f:
        f.write(b'{"id": "torn' if fmt == "jsonl" else b"r999,torn")  # and a torn write for good measure
    r = subprocess.run([*_quals_cmd(), *args, "--output", str(part)], env=env, capture_output=True)
    assert r.returncode == 2 and b"--resume continues it" in r.stderr  # a new run does not discard the records
    r = subprocess.run([*_quals_cmd(), *args, "--output", str(part), "--resume"], env=env, capture_output=True)
    assert r.returncode == 0, r.stderr
    assert b"resuming" in r.stderr
    assert part.read_bytes() == full.read_bytes() and not partial.exists()


def test_a_killed_resume_leaves_no_output_that_looks_complete(bart_bundle, tmp_path):
    """--resume with nothing to resume starts a new run: it writes PATH.partial too, so that a kill leaves no
    PATH (a truncated PATH would pass for a finished run); a resume of a finished PATH copies it first."""
    n = 60
    recs = [{"id": f"r{i}", "source": f"Anna built bridge number {i} in Paris, with Tom.", "summary": f"Anna {i}."}
            for i in range(n)]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out, partial = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial"
    args = [*_quals_cmd(), "score", "--model", str(bart_bundle), "--input", str(inp), "--threads", "1",
            "--output", str(out), "--resume"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    _kill_after_lines(subprocess.Popen(args, env=env, stderr=subprocess.PIPE), partial, 10)
    assert not out.exists() and 10 <= partial.read_bytes().count(b"\n") < n
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    finished = out.read_bytes()
    assert finished.count(b"\n") == n and not partial.exists()
    r = subprocess.run(args, env=env, capture_output=True)  # a resume of a finished run: nothing to add
    assert r.returncode == 0 and out.read_bytes() == finished and not partial.exists()


@pytest.mark.parametrize("failure", ["no model", "corrupt bundle", "cuda", "source limit", "bad option"])
def test_a_run_that_fails_before_scoring_leaves_the_output_as_it_was(bart_bundle, tmp_path, failure):
    inp = tmp_path / "in.jsonl"
    inp.write_text(json.dumps({"source": "Anna built it.", "summary": "Anna."}) + "\n")
    out = tmp_path / "keep.jsonl"
    out.write_bytes(b'{"quals": -1.5, "precious": true}\n')
    broken = tmp_path / "broken"
    shutil.copytree(bart_bundle, broken)
    (broken / "tokenizer.json").write_text("{}")
    extra = {"no model": ["--model", str(tmp_path / "none")], "corrupt bundle": ["--model", str(broken)],
             "cuda": ["--model", str(bart_bundle), "--provider", "cuda"],
             "source limit": ["--model", str(bart_bundle), "--max-source-tokens", "100000"],
             "bad option": ["--model", str(bart_bundle), "--num-beams", "5", "--num-groups", "2"]}[failure]
    if failure == "cuda" and "CUDAExecutionProvider" in __import__("onnxruntime").get_available_providers():
        pytest.skip("CUDA is available here")
    r = run(["score", "--input", str(inp), "--output", str(out), *extra])
    assert r.exit_code in (2, 3), r.output
    assert out.read_bytes() == b'{"quals": -1.5, "precious": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "in.jsonl", "keep.jsonl"]


def test_an_empty_input_says_so_and_writes_an_empty_output(bart_bundle, tmp_path):
    inp = tmp_path / "empty.jsonl"
    inp.write_bytes(b"")
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(out)])
    assert r.exit_code == 0 and "holds no records" in r.stderr and out.read_bytes() == b""


def test_resume_refuses_an_output_of_another_input(bart_bundle, tmp_path):
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "source": "Anna built it.", "summary": "Anna."}) + "\n"
                           for i in range(3)))
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"id": 7, "status": "ok", "quals": 0.0}) + "\n")
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--output", str(out), "--resume", *SMALL])
    assert r.exit_code == 2 and "another input" in r.stderr
    r = run(["score", "--model", str(bart_bundle), "--input", str(inp), "--resume", *SMALL])
    assert r.exit_code == 2 and "--resume needs --output" in r.stderr


def test_a_card_edit_neither_breaks_the_bundle_nor_changes_its_id(bart_bundle, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(bart_bundle, b)
    before = Scorer.load(b).signature()
    (b / "MODEL_CARD.md").write_text("# A card\n")
    from quals.bundle import load_bundle, model_file_digests

    assert "MODEL_CARD.md" not in model_file_digests(b)
    (b / "MODEL_CARD.md").write_text("# A card, its typo fixed\n")
    assert load_bundle(b).digest == load_bundle(bart_bundle).digest
    assert Scorer.load(b).signature() == before
    assert Path(b / "quals.json").read_bytes() == Path(bart_bundle / "quals.json").read_bytes()


def test_engine_ray_without_ray_is_a_usage_error_with_the_hint(bart_bundle):
    r = run(["score", "--model", str(bart_bundle), "--engine", "ray", "--workers", "2", "--source-text", "a",
             "--summary-text", "b"])
    assert r.exit_code == 2 and "--actors" in r.stderr
    if importlib_has("ray"):
        pytest.skip("ray is installed here: tests/test_ray.py covers the engine")
    r = run(["score", "--model", str(bart_bundle), "--engine", "ray", "--source-text", "a", "--summary-text", "b"])
    assert r.exit_code == 2 and "pip install 'quals[ray]'" in r.stderr
