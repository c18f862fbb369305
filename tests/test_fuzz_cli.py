"""Fuzzing `quals score` end to end: whatever the input holds, one output record per input record, in
order, valid JSON out, and exit code 1 exactly when some record failed (else 0)."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quals.cli import main

SMALL = ["--num-beams", "4", "--num-groups", "2", "--diversity", "0.5", "--max-length", "8", "--min-length", "0"]

# Any code point, lone surrogates and control characters included (JSON escapes can carry them all).
text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()), max_size=40)
words = st.sampled_from(["Anna", "built", "a", "bridge", "in", "Paris", "1990", ".", ",", "Tom", "\u00e9t\u00e9"])
sentence = st.lists(words, min_size=1, max_size=12).map(" ".join)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
record = st.fixed_dictionaries(
    {},
    optional={"source": st.one_of(sentence, text, json_value), "summary": st.one_of(sentence, text, json_value),
              "id": json_value, "x": json_value},
)


def _line(draw_kind, rec, raw) -> bytes | None:
    if draw_kind == "record":
        return json.dumps(rec, ensure_ascii=True).encode()  # escapes: lone surrogates survive as \\udxxx
    if draw_kind == "unicode":
        return json.dumps(rec, ensure_ascii=False).encode("utf-8", errors="surrogatepass")  # raw bad bytes
    return raw


line = st.tuples(
    st.sampled_from(["record", "record", "unicode", "raw"]),
    record,
    st.binary(max_size=30).filter(lambda b: b"\n" not in b),
).map(lambda t: _line(*t))


def _check(r, n_in: int, out_lines: list[str]):
    assert "Traceback" not in r.output
    assert all(len(x.splitlines()) == 1 for x in out_lines)  # no line break even by str.splitlines' rules
    assert len(out_lines) == n_in, (n_in, out_lines, r.output)
    recs = [json.loads(x, parse_constant=lambda c: (_ for _ in ()).throw(AssertionError(c))) for x in out_lines]
    assert all(x["status"] in ("ok", "no_qa_pairs", "error") for x in recs)
    n_err = sum(x["status"] == "error" for x in recs)
    assert r.exit_code == (1 if n_err else 0), (r.exit_code, r.output)
    return recs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(lines=st.lists(line, min_size=1, max_size=6), tagged=st.lists(sentence, min_size=1, max_size=3))
def test_fuzz_jsonl(bart_bundle, lines, tagged):
    # Records carrying a position tag, between the fuzzed lines: they must come out in the same places.
    data, n_in, tags = [], 0, []
    for i, raw in enumerate(lines):
        data.append(raw)
        n_in += bool(raw.strip())
        if i < len(tagged):
            data.append(json.dumps({"tag": i, "source": tagged[i], "summary": tagged[i]}).encode())
            tags.append((n_in, i))
            n_in += 1
    r = CliRunner().invoke(main, ["score", "--model", str(bart_bundle), "--batch-size", "3", *SMALL],
                           input=b"\n".join(data) + b"\n")
    recs = _check(r, n_in, r.stdout_bytes.decode("utf-8").split("\n")[:-1])
    for pos, tag in tags:
        assert recs[pos].get("tag") == tag


cell = st.one_of(sentence, text.filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(cell, cell, cell), min_size=1, max_size=5), bom=st.booleans())
def test_fuzz_csv(bart_bundle, rows, bom):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "source", "summary"])
    w.writerows(rows)
    data = ("\ufeff" if bom else "") + buf.getvalue()
    n_in = len(list(csv.reader(io.StringIO(data.lstrip("\ufeff"), newline="")))) - 1
    r = CliRunner().invoke(main, ["score", "--model", str(bart_bundle), "--format", "csv", *SMALL],
                           input=data.encode("utf-8"))
    recs = _check(r, n_in, r.stdout_bytes.decode("utf-8").split("\n")[:-1])
    assert [x["id"] for x in recs] == [row[0] for row in csv.reader(io.StringIO(data.lstrip("\ufeff"),
                                                                               newline=""))][1:]
