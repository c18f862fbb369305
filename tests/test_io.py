"""Readers and writers on real-world files: BOMs, lone surrogates, strict JSON, CSV quirks."""

from __future__ import annotations

import csv
import io
import json

import pytest
from quals.tasks.io import BadRecord, RecordWriter, UnwritableRecord, guess_format, read_records


def read(data: bytes, fmt: str):
    return list(read_records(io.BytesIO(data), fmt))


def test_utf8_bom_is_not_part_of_the_first_record_or_column():
    rec = {"id": "a", "source": "S.", "summary": "s."}
    jsonl = read(b"\xef\xbb\xbf" + json.dumps(rec).encode() + b"\n", "jsonl")
    assert jsonl == [rec]
    csv_bytes = "\ufeffid,source,summary\r\na,S.,s.\r\n".encode()  # what Excel writes
    assert read(csv_bytes, "csv") == [rec]
    assert read(csv_bytes.replace(b",", b"\t"), "tsv") == [rec]


def test_json_that_cannot_be_written_back_is_a_bad_record_not_a_crash():
    lines = [
        b'{"source": "a", "summary": "b", "x": NaN}',
        b'{"source": "a", "summary": "b", "x": 1e999}',
        b'{"source": "a", "summary": "b", "x": ' + b"1" * 5000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"source": "a", "summary": "b", "x": -Infinity}',
    ]
    out = read(b"\n".join(lines) + b"\n", "jsonl")
    assert len(out) == 5 and all(isinstance(r, BadRecord) for r in out)
    assert [r.line for r in out] == [1, 2, 3, 4, 5]


def test_lone_surrogates_are_written_as_json_escapes_that_read_back_equal():
    rec = {"id": "\udcff", "summary": "x\ud800y"}  # valid JSON escapes; not encodable as UTF-8
    buf = io.BytesIO()
    RecordWriter(buf, "jsonl").write(rec)
    line = buf.getvalue()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    line.decode("utf-8")  # valid UTF-8
    assert json.loads(line) == rec


def test_csv_output_escapes_what_utf8_cannot_hold_and_refuses_non_finite_numbers():
    buf = io.BytesIO()
    w = RecordWriter(buf, "csv", ["id", "quals"])
    w.write({"id": "a\udcffb", "quals": 1.5})
    rows = list(csv.reader(io.StringIO(buf.getvalue().decode("utf-8"))))
    assert rows == [["id", "quals"], ["a\\udcffb", "1.5"]]
    with pytest.raises(UnwritableRecord):
        w.write({"id": "b", "quals": float("nan")})
    with pytest.raises(UnwritableRecord):
        RecordWriter(io.BytesIO(), "jsonl").write({"quals": float("inf")})


def test_csv_errors_become_bad_records_and_large_fields_are_read():
    big = "x" * 300_000  # over the csv module's default 128 KiB field limit
    data = f'source,summary\n"{big}",s\nok,fine\n'.encode()
    out = read(data, "csv")
    assert out[0] == {"source": big, "summary": "s"} and out[1] == {"source": "ok", "summary": "fine"}
    out = read(b'source,summary\na,"never closed\n', "csv")
    assert len(out) == 1 and isinstance(out[0], BadRecord)


def test_format_follows_the_extension():
    assert [guess_format(n) for n in ("x.CSV", "y.tsv", "z.tab", "w.jsonl", "-", None)] == [
        "csv", "tsv", "tsv", "jsonl", "jsonl", "jsonl"]
