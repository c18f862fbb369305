"""Record readers and writers: JSONL, CSV and TSV, one output record per input record, in order.

A line that cannot be read (not JSON, not an object, a missing field, bytes that are not UTF-8) becomes
a `BadRecord` carrying the reason, so the writer still emits a record for it with status "error".
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

FORMATS = ("jsonl", "csv", "tsv")
REQUIRED = ("source", "summary")


@dataclass(frozen=True)
class BadRecord:
    line: int
    reason: str
    fields: dict[str, Any]  # whatever could be read (ids pass through even on errors)


def guess_format(name: str | None) -> str:
    if name and name != "-":
        lower = name.lower()
        if lower.endswith(".csv"):
            return "csv"
        if lower.endswith((".tsv", ".tab")):
            return "tsv"
    return "jsonl"


def read_records(stream: IO[bytes], fmt: str) -> Iterator[dict[str, Any] | BadRecord]:
    """Yield each record as a dict, or a BadRecord saying why it cannot be scored."""
    if fmt == "jsonl":
        yield from _read_jsonl(stream)
    elif fmt in ("csv", "tsv"):
        yield from _read_delimited(stream, "," if fmt == "csv" else "\t")
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _check(rec: dict[str, Any], line: int) -> dict[str, Any] | BadRecord:
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        return BadRecord(line, f"line {line}: missing field(s): {', '.join(missing)}", rec)
    wrong = [k for k in REQUIRED if not isinstance(rec[k], str)]
    if wrong:
        return BadRecord(line, f"line {line}: field(s) must be strings: {', '.join(wrong)}", rec)
    return rec


def _read_jsonl(stream: IO[bytes]) -> Iterator[dict[str, Any] | BadRecord]:
    for i, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue  # blank lines (e.g. a trailing newline) are not records
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield BadRecord(i, f"line {i}: not valid UTF-8 ({exc.reason} at byte {exc.start})", {})
            continue
        try:
            rec = json.loads(text)
        except json.JSONDecodeError as exc:
            yield BadRecord(i, f"line {i}: not JSON ({exc.msg})", {})
            continue
        if not isinstance(rec, dict):
            yield BadRecord(i, f"line {i}: a record must be a JSON object", {})
            continue
        yield _check(rec, i)


def _read_delimited(stream: IO[bytes], delimiter: str) -> Iterator[dict[str, Any] | BadRecord]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    reader = csv.DictReader(text, delimiter=delimiter)
    for row in reader:
        line = reader.line_num
        rec = {k: v for k, v in row.items() if k is not None}
        if any(isinstance(v, str) and _has_surrogates(v) for v in rec.values()):
            yield BadRecord(line, f"line {line}: not valid UTF-8", {})
            continue
        yield _check(rec, line)


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in s)


class RecordWriter:
    """Writes output records. CSV/TSV need the column list up front; nested values are written as JSON."""

    def __init__(self, stream: IO[str], fmt: str, fields: list[str] | None = None):
        if fmt != "jsonl" and not fields:
            raise ValueError("CSV/TSV output needs its column names")
        self.stream, self.fmt, self.fields = stream, fmt, fields
        self._csv: csv.DictWriter | None = None

    def write(self, rec: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.stream.write(json.dumps(rec, ensure_ascii=False) + "\n")
            self.stream.flush()
            return
        flat = {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v for k, v in rec.items()}
        if self._csv is None:
            self._csv = csv.DictWriter(
                self.stream,
                fieldnames=self.fields,
                delimiter="," if self.fmt == "csv" else "\t",
                extrasaction="ignore",
                restval="",
                lineterminator="\n",
            )
            self._csv.writeheader()
        self._csv.writerow(flat)
        self.stream.flush()
