"""Continue a killed `quals score --output FILE`: find the whole records already written.

The writer puts each record in the file with one write, so a killed run leaves whole records; a torn last
line (a full disk, a copy cut short) is cut off here, and the run goes on from the next input record.
Records map to input records by position (one output record per input record, in order); an `id` field,
where both sides have one, must agree, so an output made from another input is refused, never extended.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError


@dataclass(frozen=True)
class Written:
    records: list[dict[str, Any]]  # the whole records already in the file, in order
    has_header: bool  # CSV/TSV: the header line is there


def read_written(path: str | Path, fmt: str, fields: list[str] | None) -> Written:
    """The whole records of a partly written output, after cutting a torn last line off the file."""
    path = Path(path)
    if not path.exists():
        return Written([], False)
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    if cut < len(data):
        with open(path, "r+b") as f:
            f.truncate(cut)
            f.flush()
            os.fsync(f.fileno())
        data = data[:cut]
    if fmt == "jsonl":
        records = []
        for n, line in enumerate(data.splitlines(), 1):
            try:
                rec = json.loads(line)
            except ValueError as exc:
                raise InputError(f"--resume: line {n} of {path} is not JSON ({exc}); not a quals output") from exc
            if not isinstance(rec, dict) or "status" not in rec:
                raise InputError(f"--resume: line {n} of {path} is not a quals output record")
            records.append(rec)
        return Written(records, False)
    text = data.decode("utf-8", errors="surrogateescape")
    if not text:
        return Written([], False)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="," if fmt == "csv" else "\t")
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(f"--resume: {path} is not readable as {fmt.upper()} ({exc})") from exc
    header, body = rows[0], rows[1:]
    if fields is not None and header != fields:
        raise InputError(f"--resume: the columns of {path} are not the ones this run writes "
                         f"({', '.join(header)} vs {', '.join(fields)})")
    return Written([dict(zip(header, row)) for row in body], True)


def check_alignment(written: list[dict[str, Any]], inputs: list[dict[str, Any]]) -> None:
    """Refuse to extend an output that does not start with these inputs' records."""
    if len(written) > len(inputs):
        raise InputError(f"--resume: the output has {len(written)} records but the input only {len(inputs)}")
    for n, (out, inp) in enumerate(zip(written, inputs), 1):
        if "id" in out and "id" in inp and str(out["id"]) != str(inp["id"]):
            raise InputError(f"--resume: output record {n} has id {out['id']!r} but input record {n} has "
                             f"{inp['id']!r}; is the output from another input?")


def is_true(value: Any) -> bool:
    """A boolean field as read back from JSON (true) or CSV ("True")."""
    return value is True or str(value).lower() == "true"
