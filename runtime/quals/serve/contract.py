"""Request bodies in, error bodies out: every refusal names its status, its kind and, where there is one, the
field (`records[3].source`), so that a client can tell what to fix without reading the server's log.

A record that cannot be scored (not an object, a field missing or not a string) is not a refusal: it gets its
result with status "error" at its place, as `quals score` gives it an error record, and the other records of
the request are scored. Refused whole are requests the service cannot take as they are: a body that is not
JSON (400), a request of the wrong shape or a text over the limit (422), too many records or bytes (413).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..result import Result, error_result
from ..score import VARIANTS
from ..tasks.io import BOM, BadRecord, check_record, json_text, parse_json_line
from ..tasks.score_file import output_record, with_place, writable
from .limits import Limits

# Error kinds: the `kind` of an error body and the label of quals_errors_total.
KINDS = {
    "bad_request": 400,  # the body is not UTF-8 JSON
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "too_large": 413,  # body bytes or records per request over the limit
    "unsupported_media_type": 415,
    "invalid": 422,  # wrong shape or types, unknown fields, a text over the limit
    "overloaded": 429,  # the queue is full: Retry-After
    "internal": 500,
    "worker_died": 503,  # a scoring process died with this request's records: retry
    "shutting_down": 503,  # draining: retry on another instance
    "deadline": 504,  # the request's records were not all scored in time
}


class ApiError(Exception):
    """A refusal: an HTTP status, a kind (KINDS), a message for people, the field it is about."""

    def __init__(self, kind: str, message: str, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.kind, self.message, self.field = kind, message, field
        self.status = KINDS[kind]
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"status": self.status, "kind": self.kind, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        return {"error": err}


@dataclass(frozen=True)
class ScoreRequest:
    records: list[dict | BadRecord]  # at their places; BadRecords get an error result
    details: bool = False
    drop_text: bool = False
    variant: str | None = None  # None: the service's

    @property
    def texts(self) -> list[tuple[str, str]]:
        """(source, summary) of each record that can be scored, in order."""
        return [(r["source"], r["summary"]) for r in self.records if not isinstance(r, BadRecord)]


@dataclass(frozen=True)
class ExplainRequest:
    source: str
    summary: str
    format: str = "json"
    variant: str | None = None


def parse_json_body(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (strict: NaN, Infinity and overflowing numbers are refused, as in files)."""
    try:
        text = body.decode("utf-8").lstrip(BOM)
    except UnicodeDecodeError as exc:
        raise ApiError("bad_request", f"the body is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    if not text.strip():
        raise ApiError("bad_request", "the body is empty; send a JSON object")
    try:
        doc = parse_json_line(text)
    except json.JSONDecodeError as exc:
        raise ApiError("bad_request", f"the body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
                       ) from exc
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise ApiError("bad_request", f"the body is not JSON that quals can carry ({reason})") from exc
    if not isinstance(doc, dict):
        raise ApiError("invalid", f"the body must be a JSON object, not {_json_type(doc)}")
    return doc


def _json_type(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, (int, float)):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, list):
        return "an array"
    return "an object"


def _only(doc: dict, allowed: tuple[str, ...]) -> None:
    unknown = [k for k in doc if k not in allowed]
    if unknown:
        raise ApiError("invalid", f"unknown field {unknown[0]!r}; the fields are {', '.join(allowed)}", unknown[0])


def _flag(doc: dict, name: str) -> bool:
    value = doc.get(name, False)
    if not isinstance(value, bool):
        raise ApiError("invalid", f"{name} must be true or false, not {_json_type(value)}", name)
    return value


def _variant(doc: dict) -> str | None:
    value = doc.get("variant")
    if value is not None and value not in VARIANTS:
        raise ApiError("invalid", f"variant must be one of {', '.join(VARIANTS)}", "variant")
    return value


def _text_limit(text: Any, where: str, limits: Limits) -> None:
    if isinstance(text, str) and len(text) > limits.max_text_chars:
        raise ApiError("invalid", f"{where} is {len(text):,} characters; this service takes at most "
                       f"{limits.max_text_chars:,} (--max-text-chars)", where)


SCORE_FIELDS = ("records", "details", "drop_text", "variant")
EXPLAIN_FIELDS = ("source", "summary", "format", "variant")
EXPLAIN_FORMATS = ("json", "html")


def parse_score(body: bytes, limits: Limits) -> ScoreRequest:
    """A /v1/score body (see openapi.json) as a ScoreRequest; raises ApiError."""
    doc = parse_json_body(body)
    _only(doc, SCORE_FIELDS)
    if "records" not in doc:
        raise ApiError("invalid", "records is missing: send {\"records\": [{\"source\": ..., \"summary\": ...}]}",
                       "records")
    records = doc["records"]
    if not isinstance(records, list):
        raise ApiError("invalid", f"records must be an array of objects, not {_json_type(records)}", "records")
    if len(records) > limits.max_records:
        raise ApiError("too_large", f"{len(records)} records; this service takes at most {limits.max_records} "
                       "per request (--max-records): split them", "records")
    checked: list[dict | BadRecord] = []
    for i, rec in enumerate(records):
        where = f"records[{i}]"
        if not isinstance(rec, dict):
            checked.append(BadRecord(i, f"{where}: a record must be a JSON object", {}))
            continue
        for name in ("source", "summary"):
            _text_limit(rec.get(name), f"{where}.{name}", limits)
        checked.append(check_record(rec, i, where))
    return ScoreRequest(checked, _flag(doc, "details"), _flag(doc, "drop_text"), _variant(doc))


def parse_explain(body: bytes, limits: Limits) -> ExplainRequest:
    """A /v1/explain body as an ExplainRequest; raises ApiError (one record: a bad one is refused)."""
    doc = parse_json_body(body)
    _only(doc, EXPLAIN_FIELDS)
    for name in ("source", "summary"):
        if name not in doc:
            raise ApiError("invalid", f"{name} is missing", name)
        if not isinstance(doc[name], str):
            raise ApiError("invalid", f"{name} must be a string, not {_json_type(doc[name])}", name)
        _text_limit(doc[name], name, limits)
    fmt = doc.get("format", "json")
    if fmt not in EXPLAIN_FORMATS:
        raise ApiError("invalid", f"format must be one of {', '.join(EXPLAIN_FORMATS)}", "format")
    return ExplainRequest(doc["source"], doc["summary"], fmt, _variant(doc))


def result_records(request: ScoreRequest, results: list[Result], variant: str) -> list[dict]:
    """One output record per request record, in order: exactly what `quals score` writes for it (its input
    fields passed through, then the result), a record that could not be read as an error result."""
    scored = iter(results)
    out = []
    for i, rec in enumerate(request.records):
        if isinstance(rec, BadRecord):
            result, fields = error_result(rec.reason, variant), rec.fields
        else:
            result, fields = with_place(next(scored).for_variant(variant), f"records[{i}]"), rec
        out.append(writable(output_record(fields, result, request.details, request.drop_text), variant, json_text)[0])
    return out
