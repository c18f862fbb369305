"""The table of docs/verdicts.md, "What it measures", from a `quals evaluate --json` report of a model with its
verdict calibration (the command is in that section).

One row per benchmark, then one per origin where a benchmark has several (the synthetic check's origins are the
datasets its documents came from, not summarizers: --pooled-only leaves them out; Goyal21's targets are per
origin and its pooled row mixes two tasks: --origins-only leaves it out); the cells are the report's
values as they are, so the table cannot drift from the run. With --previous REPORT (the same command's report
for the model being replaced, e.g. docs/eval/verdicts/dev.json), each cell shows the previous value after an
arrow, so a new default's table says what changed.

    python scripts/verdicts_table.py build/eval/verdicts-dev.json --previous docs/eval/verdicts/dev.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

NAMES = {"synthetic": "synthetic check", "summeval": "SummEval", "polytope": "Polytope", "gofigure": "Go-Figure",
         "goyal21": "Goyal21", "xsum": "XSum", "samsum": "SAMSum", "cnndm": "CNN/DM"}
HEADER = ["set (records)", "paper ROC-AUC", "p_consistent ROC-AUC", "verdict balanced accuracy", "uncertain",
          "inconsistent: precision / recall", "consistent: precision / recall"]
Key = tuple[str, str]


def rows_by_key(report: dict) -> dict[Key, dict[str, dict]]:
    """(benchmark, origin) -> variant -> row, in the report's order. Raises ValueError when the report has no
    p_consistent row (a model without a calibration, or a run with --no-verdicts)."""
    out: dict[Key, dict[str, dict]] = {}
    for row in report["rows"]:
        out.setdefault((row["benchmark"], row["origin"]), {})[row["variant"]] = row
    if not any("p_consistent" in v for v in out.values()):
        raise ValueError("the report has no p_consistent rows: score with a calibrated model, verdicts on")
    return out


def _value(rows: dict[str, dict] | None, variant: str, metric: str) -> float | None:
    row = (rows or {}).get(variant)
    return None if row is None else row["metrics"].get(metric, {}).get("value")


def _fmt(value: float | None, share: bool) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if share else f"{value:.2f}"


def _cell(new: dict[str, dict], old: dict[str, dict] | None, parts: list[tuple[str, str]],
          share: bool = False) -> str:
    def text(rows: dict[str, dict] | None) -> str:
        return " / ".join(_fmt(_value(rows, v, m), share) for v, m in parts)
    return text(new) + (f" (was {text(old)})" if old is not None else "")


def _label(key: Key, n: int) -> str:
    bench, origin = key
    name = NAMES.get(bench, bench)
    return f"{name} ({n})" if origin == "all" else f"{name} {NAMES.get(origin, origin)} ({n})"


def table(report: dict, previous: dict | None = None, pooled_only: tuple[str, ...] = ("synthetic",),
          origins_only: tuple[str, ...] = ("goyal21",)) -> list[str]:
    """The markdown lines of the table (see the module docstring)."""
    new = rows_by_key(report)
    old = rows_by_key(previous) if previous else None
    by_origin = {bench for bench, origin in new if origin != "all"}  # the benchmarks with several origins
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for key, rows in new.items():
        bench, origin = key
        if "p_consistent" not in rows or (origin != "all" and bench in pooled_only):
            continue
        if origin == "all" and bench in origins_only and bench in by_origin:
            continue
        before = None if old is None else old.get(key, {})
        n = rows["p_consistent"]["n"]
        cells = [_label(key, n),
                 _cell(rows, before, [("paper", "roc_auc")]),
                 _cell(rows, before, [("p_consistent", "roc_auc")]),
                 _cell(rows, before, [("p_consistent", "verdict_bacc")]),
                 _cell(rows, before, [("p_consistent", "uncertain")], share=True),
                 _cell(rows, before, [("p_consistent", "precision_inconsistent"),
                                      ("p_consistent", "recall_inconsistent")]),
                 _cell(rows, before, [("p_consistent", "precision_consistent"),
                                      ("p_consistent", "recall_consistent")])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("report", type=Path, help="quals evaluate --json report (verdicts on)")
    p.add_argument("--previous", type=Path, help="the same command's report for the model being replaced")
    p.add_argument("--pooled-only", default="synthetic",
                   help="comma-separated benchmarks shown without their origins (default: synthetic)")
    p.add_argument("--origins-only", default="goyal21",
                   help="comma-separated benchmarks shown by origin only, without the pooled row (default: goyal21)")
    a = p.parse_args()
    report = json.loads(a.report.read_text(encoding="utf-8"))
    previous = json.loads(a.previous.read_text(encoding="utf-8")) if a.previous else None
    pooled = tuple(x for x in a.pooled_only.split(",") if x)
    by_origin = tuple(x for x in a.origins_only.split(",") if x)
    try:
        print("\n".join(table(report, previous, pooled, by_origin)))
    except ValueError as exc:
        raise SystemExit(f"verdicts_table: {a.report}: {exc}") from exc


if __name__ == "__main__":
    main()
