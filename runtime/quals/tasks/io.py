"""Record readers and writers: JSONL, CSV and TSV, one output record per input record, in order.

Reading never stops a run: a line that cannot be read (not JSON, not an object, a missing field, bytes
that are not UTF-8, a number JSON cannot carry back out) becomes a `BadRecord` with the reason, so the
writer still emits a record for it with status "error". A UTF-8 byte-order mark (Excel's CSV, some JSONL
writers) is skipped. Writing never stops a run either: each record is serialised to one whole line
before anything reaches the file (so a killed run leaves only whole records), strings that UTF-8 cannot
hold (lone surrogates, which JSON escapes may carry) are written as JSON escapes, and a record that
cannot be serialised at all raises `UnwritableRecord` for the caller to replace with an error record.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

FORMATS = ("jsonl", "csv", "tsv")
REQUIRED = ("source", "summary")
BOM = "\ufeff"

# A CSV field may hold a whole article: lift the csv module's 128 KiB cap (a field over it would be an error).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class BadRecord:
    line: int
    reason: str
    fields: dict[str, Any]  # whatever could be read (ids pass through even on errors)


class UnwritableRecord(ValueError):
    """A record that cannot be written in the output format (e.g. a non-finite number in JSON)."""


def guess_format(name: str | None) -> str:
    """The format a file name's extension says: .csv, .tsv/.tab, else (and for stdin/stdout) jsonl."""
    if name and name != "-":
        lower = name.lower()
        if lower.endswith(".csv"):
            return "csv"
        if lower.endswith((".tsv", ".tab")):
            return "tsv"
    return "jsonl"


def read_records(stream: IO[bytes], fmt: str) -> Iterator[dict[str, Any] | BadRecord]:
    """Yield each record as a dict, or a BadRecord saying why it cannot be scored."""
    for _, rec in read_numbered(stream, fmt):
        yield rec


def read_numbered(stream: IO[bytes], fmt: str) -> Iterator[tuple[int, dict[str, Any] | BadRecord]]:
    """(line number, record) for each record: its first line in the file, for messages about it."""
    if fmt == "jsonl":
        yield from _read_jsonl(stream)
    elif fmt in ("csv", "tsv"):
        yield from _read_delimited(stream, "," if fmt == "csv" else "\t")
    else:
        raise ValueError(f"unknown format {fmt!r}")


def check_record(rec: dict[str, Any], line: int, where: str | None = None) -> dict[str, Any] | BadRecord:
    """`rec` if it can be scored, else a BadRecord saying why; `where` starts the reason (default "line N"; the
    service says "records[N]")."""
    where = where or f"line {line}"
    missing = [k for k in REQUIRED if k not in rec]
    if missing:
        return BadRecord(line, f"{where}: missing field(s): {', '.join(missing)}", rec)
    wrong = [k for k in REQUIRED if not isinstance(rec[k], str)]
    if wrong:
        return BadRecord(line, f"{where}: field(s) must be strings: {', '.join(wrong)}", rec)
    return rec


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise ValueError(f"number {text[:20]} is out of range")
    return x


def parse_json_line(text: str) -> Any:
    """Strict JSON: NaN/Infinity and numbers that overflow a float are refused, so that whatever is read
    can be written back as valid JSON."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def _read_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any] | BadRecord]]:
    for i, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue  # blank lines (e.g. a trailing newline) are not records
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield i, BadRecord(i, f"line {i}: not valid UTF-8 ({exc.reason} at byte {exc.start})", {})
            continue
        text = text.lstrip(BOM)
        try:
            rec = parse_json_line(text)
        except json.JSONDecodeError as exc:
            yield i, BadRecord(i, f"line {i}: not JSON ({exc.msg})", {})
            continue
        except (ValueError, RecursionError) as exc:  # NaN, 1e999, a 5,000-digit integer, nesting too deep
            reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
            yield i, BadRecord(i, f"line {i}: not JSON that quals can carry ({reason})", {})
            continue
        if not isinstance(rec, dict):
            yield i, BadRecord(i, f"line {i}: a record must be a JSON object", {})
            continue
        yield i, check_record(rec, i)


def _read_delimited(stream: IO[bytes], delimiter: str) -> Iterator[tuple[int, dict[str, Any] | BadRecord]]:
    # utf-8-sig: a leading BOM is not part of the first column's name.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    # strict: a quote never closed is an error record, not the rest of the file silently read as one field.
    reader = csv.DictReader(text, delimiter=delimiter, strict=True)
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a quote never closed: the rest of the file is that one field
            line = reader.line_num
            yield line, BadRecord(line, f"line {line}: not readable as {'CSV' if delimiter == ',' else 'TSV'} ({exc})",
                                  {})
            continue
        line = reader.line_num
        rec = {k: v for k, v in row.items() if k is not None}
        if any(isinstance(k, str) and _has_surrogates(k) for k in rec) or any(
            isinstance(v, str) and _has_surrogates(v) for v in rec.values()
        ):
            yield line, BadRecord(line, f"line {line}: not valid UTF-8", {})
            continue
        yield line, check_record(rec, line)


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in s)


def json_line(rec: dict[str, Any]) -> str:
    """One JSONL line (with its newline). Lone surrogates, which UTF-8 cannot encode, are written as
    `\\udcff` escapes: still valid JSON, and read back as the same string."""
    return json_text(rec) + "\n"


def json_text(rec: Any) -> str:
    """JSON on one line that UTF-8 can always encode (json_line without the newline; the service's bodies)."""
    try:
        line = json.dumps(rec, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise UnwritableRecord(f"not representable as JSON ({exc})") from exc
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(rec, ensure_ascii=True, allow_nan=False)
    # Line breaks to Python's str.splitlines and to JavaScript (NEL, LS, PS): escaped, so that every reader
    # sees one record per line. They can only occur inside strings, where the escape means the same.
    return line.translate(_LINE_BREAKS)


_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def delimited_row(fmt: str, values: list[Any]) -> bytes:
    """One CSV/TSV row as RecordWriter writes it (characters UTF-8 cannot encode as backslash escapes)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n").writerow(values)
    return buf.getvalue().encode("utf-8", errors="backslashreplace")


class RecordWriter:
    """Writes output records to a binary stream, one whole record per write (then flushed).

    CSV/TSV need the column list up front; nested values are written as JSON. `header=False` continues a
    file that already has its header.
    """

    def __init__(self, stream: IO[bytes], fmt: str, fields: list[str] | None = None, *, header: bool = True):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        if fmt != "jsonl" and not fields:
            raise ValueError("CSV/TSV output needs its column names")
        self.stream, self.fmt, self.fields = stream, fmt, fields
        self._header_pending = header and fmt != "jsonl"

    def format(self, rec: dict[str, Any]) -> bytes:
        """The bytes of one record (raises UnwritableRecord)."""
        if self.fmt == "jsonl":
            return json_line(rec).encode("utf-8")
        cells = []
        for k in self.fields or ():
            v = rec.get(k, "")
            if isinstance(v, (list, dict)):
                v = json_line(v)[:-1]
            elif isinstance(v, float) and not math.isfinite(v):
                raise UnwritableRecord(f"field {k!r} is not a finite number")
            cells.append("" if v is None else v)
        return delimited_row(self.fmt, cells)

    def write(self, rec: dict[str, Any]) -> None:
        self.write_bytes(self.format(rec))

    def write_bytes(self, data: bytes) -> None:
        """Write one record already made by `format` (the header first, when it is still due)."""
        if self._header_pending:
            data = delimited_row(self.fmt, list(self.fields or ())) + data
            self._header_pending = False
        self.stream.write(data)
        self.stream.flush()


PARTIAL = ".partial"  # a new run's output until it ends: OUT.partial beside OUT


def partial_path(path: str | os.PathLike) -> str:
    return os.fspath(path) + PARTIAL


def open_output(path: str, *, append: bool = False) -> IO[bytes]:
    """A binary stream for `path` (- is stdout), unbuffered for files: each record reaches the disk in one
    write, so a killed run leaves whole records only. A file output is an OutputFile: a new run writes to
    PATH.partial (created at the first record) and `commit()` renames it over PATH at the end, so that a run
    that fails or is killed never touches an existing PATH; `append` (resume) continues PATH.partial when a
    killed run left one, else a copy of PATH, and renames it over PATH at the end too. Whether the file can be
    written is checked now (OSError; a new run over a killed run's PATH.partial is FileExistsError)."""
    if path == "-":
        sys.stdout.flush()
        buf = getattr(sys.stdout, "buffer", None)
        if buf is None:
            raise OSError("stdout has no binary buffer")
        return _Unclosable(buf)
    return OutputFile(path, append=append)


def check_writable(path: str | os.PathLike) -> None:
    """OSError unless `path` could be written (an existing file, or a new one in an existing folder)."""
    target = os.fspath(path)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "is a directory", target)
    folder = os.path.dirname(os.path.abspath(target))
    if os.path.exists(target):
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied", target)
    elif not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, "no such folder", folder)
    elif not os.access(folder, os.W_OK):
        raise PermissionError(errno.EACCES, "permission denied", folder)


class OutputFile(io.RawIOBase):
    """An output file with the lifecycle of open_output: records go to PATH.partial, opened at the first write,
    renamed over `path` by commit(). Closing without commit() leaves `path` as it was (and a started
    PATH.partial for --resume).

    `writing` is the file that holds this run's records so far: PATH.partial, or for a resume of a finished
    run PATH itself until the first new record, which first copies PATH to PATH.partial (so that a resume that
    is killed leaves PATH whole too)."""

    def __init__(self, path: str, *, append: bool = False):
        self.path = path
        self.partial = partial_path(path)
        check_writable(path)
        check_writable(self.partial)
        if not append and os.path.exists(self.partial):  # a killed run's records: never discarded by a new run
            raise FileExistsError(errno.EEXIST, "holds the records of an unfinished run: --resume continues it; "
                                  "remove it to start again", self.partial)
        resumes_finished = append and not os.path.exists(self.partial) and os.path.exists(path)
        self.writing = path if resumes_finished else self.partial
        self.mode = "ab" if append else "wb"
        self._file: IO[bytes] | None = None

    def writable(self) -> bool:
        return True

    def _open(self) -> IO[bytes]:
        if self._file is None:
            if self.writing == self.path:
                shutil.copyfile(self.path, self.partial)
                self.writing = self.partial
            self._file = open(self.writing, self.mode, buffering=0)
        return self._file

    def write(self, b) -> int:
        return self._open().write(b)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def commit(self) -> None:
        """The run wrote every record: PATH.partial (created empty if no record was written) becomes PATH; a
        resume of a finished run that had nothing to add leaves PATH as it is."""
        if self._file is None and self.writing == self.path:
            return
        f = self._open()
        f.flush()
        os.fsync(f.fileno())
        os.replace(self.partial, self.path)

    def close(self) -> None:
        super().close()  # flushes first
        if self._file is not None:
            self._file.close()


class _Unclosable(io.RawIOBase):
    """stdout's buffer, left open when the writer's stream is closed."""

    def __init__(self, raw: IO[bytes]):
        self._raw = raw

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self._raw.write(b)
        return len(b)

    def flush(self) -> None:
        self._raw.flush()
