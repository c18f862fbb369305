"""`quals score`'s job: records in, one output record per input record out, in order, nothing lost.

A record that cannot be read (BadRecord) or scored still gets its output record (status "error", with the
reason), at its place; a result that cannot be written (a non-finite number in CSV) becomes an error record
with the fields that can be written. `Tally` counts what was written, for the exit code and the closing lines.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..result import STATUS_ERROR, Result, error_result
from .io import BadRecord, RecordWriter, UnwritableRecord
from .resume import is_true

# The fields of an output record that the scorer writes (an input field of the same name is not copied).
RESULT_FIELDS = (
    "quals",
    "n_pairs",
    "status",
    "error",
    "variant",
    "n_hypotheses",
    "n_span_valid",
    "source_tokens",
    "source_truncated",
    "summary_tokens",
    "summary_truncated",
    "verdict",
    "p_consistent",
    "unsupported",
)
TEXT_FIELDS = ("source", "summary")
DETAIL_FIELDS = ("pairs", "coverage_pairs")  # written with --details


def passes_through(key: str, drop_text: bool) -> bool:
    """An input field copied to the output record (result fields are the scorer's, never the input's)."""
    return key not in RESULT_FIELDS and key not in DETAIL_FIELDS and not (drop_text and key in TEXT_FIELDS)


def output_fields(records: Sequence[dict | BadRecord], details: bool, fmt: str,
                  drop_text: bool = False) -> list[str] | None:
    """The columns of a CSV/TSV output (None for JSON lines): every input field passed through, in first-seen
    order, then the result fields."""
    if fmt == "jsonl":
        return None
    passthrough: list[str] = []
    for r in records:
        for k in r.fields if isinstance(r, BadRecord) else r:
            if k not in passthrough and passes_through(k, drop_text):
                passthrough.append(k)
    return passthrough + list(RESULT_FIELDS) + (list(DETAIL_FIELDS) if details else [])


def output_record(fields: dict, result: Result, details: bool, drop_text: bool = False) -> dict:
    rec = {k: v for k, v in fields.items() if passes_through(k, drop_text)}
    rec.update(result.to_dict(details=details))
    return rec


@dataclass
class Tally:
    """What a run wrote (resumed records included): errors and truncations, for the exit code and the notes."""

    errors: int = 0
    source_cut: int = 0
    summary_cut: int = 0
    written: int = 0

    @classmethod
    def of(cls, written: list[dict]) -> Tally:
        t = cls()
        for rec in written:
            t.add(rec)
        return t

    def add(self, rec: dict) -> None:
        self.written += 1
        self.errors += rec.get("status") == STATUS_ERROR
        self.source_cut += is_true(rec.get("source_truncated"))
        self.summary_cut += is_true(rec.get("summary_truncated"))

    def notes(self, total: int, limit: int | None) -> list[str]:
        """The closing lines a person reads: truncations, then records that could not be scored."""
        out = []
        if self.source_cut or self.summary_cut:
            out.append(f"truncated to the first {limit} tokens: the source of {self.source_cut} and the summary of "
                       f"{self.summary_cut} of {total} record(s) (source_truncated / summary_truncated in each "
                       "record); text past the cut was not scored")
        if self.errors:
            out.append(f"{self.errors} of {total} record(s) could not be scored (status: error)")
        return out


def writable(rec: dict, variant: str, encode: Callable[[dict], Any]) -> tuple[dict, Any]:
    """(`rec`, its encoding) if `encode` can write it, else an error record with the fields it can write (a
    non-finite number in CSV, say) and its encoding: the record is never lost, and encoded once."""
    try:
        return rec, encode(rec)
    except UnwritableRecord as exc:
        err = error_result(f"the result could not be written: {exc}", variant).to_dict()
        keep = {}
        for k, v in rec.items():
            if k not in err and k not in DETAIL_FIELDS:
                with contextlib.suppress(UnwritableRecord):
                    encode({k: v})
                    keep[k] = v
        fallback = {**keep, **err}
        return fallback, encode(fallback)


def write_record(writer: RecordWriter, passed: dict, result: Result, details: bool, drop_text: bool) -> dict:
    """Write one record; one that cannot be written becomes an error record (with the fields that can be)."""
    rec, data = writable(output_record(passed, result, details, drop_text), result.variant, writer.format)
    writer.write_bytes(data)
    return rec


def with_line(result: Result, line: int | None) -> Result:
    """A scorer's error with the record's line first, as the reader's errors are ("line 7: summary is empty")."""
    return with_place(result, None if line is None else f"line {line}")


def with_place(result: Result, where: str | None) -> Result:
    """A scorer's error with where the record is first ("line 7", or the service's "records[6]")."""
    if result.status != STATUS_ERROR or where is None:
        return result
    return dataclasses.replace(result, error=f"{where}: {result.error}")


def score_into(runner: Any, records: Sequence[dict | BadRecord], writer: RecordWriter, tally: Tally, *,
               variant: str, details: bool = False, drop_text: bool = False, batch_size: int = 1,
               lines: Sequence[int | None] | None = None,
               progress: Callable[[int], None] | None = None) -> Tally:
    """Score `records` with `runner` (anything with score_batches) in batches of `batch_size`, writing each
    output record in input order as soon as its batch is back; BadRecords become error records at their place;
    `lines` (the records' line numbers) start the message of a record the scorer refused. Returns `tally`."""
    batches = [range(lo, min(lo + batch_size, len(records))) for lo in range(0, len(records), batch_size)]
    good = [[records[i] for i in b if not isinstance(records[i], BadRecord)] for b in batches]
    scored = runner.score_batches((([r["source"] for r in g], [r["summary"] for r in g]) for g in good), progress)
    for batch, results in zip(batches, scored):
        results = iter(results)
        for i in batch:
            rec = records[i]
            if isinstance(rec, BadRecord):
                result, passed = error_result(rec.reason, variant), rec.fields
                if progress:
                    progress(1)
            else:
                result, passed = with_line(next(results), lines[i] if lines else None), rec
            tally.add(write_record(writer, passed, result, details, drop_text))
    return tally
