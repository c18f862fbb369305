"""The benchmark harness: how well QUALS agrees with human judgments of factual consistency.

A benchmark is any JSONL file of `{source, summary, label}` records (an `origin` field, e.g. cnndm/xsum,
splits the report; `id` is carried to the per-record scores). Every record is scored once; all requested
variants are computed from the same QA pairs and log-probs. Per benchmark and per origin the report gives
n, the records with no QA pair (no score: left out of the metrics and counted) and errors, then Pearson
and Spearman for graded labels, ROC-AUC and balanced accuracy (at the best threshold) for binary ones,
each with a seeded 95% bootstrap interval.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..result import STATUS_ERROR, STATUS_NO_PAIRS
from ..run.pool import ScorerPool
from ..score import mean_value
from ..scorer import Scorer
from . import metrics
from .io import json_line
from .resume import read_written

ALL = "all"
VERDICT_ROW = "p_consistent"  # the row of the verdict mode: its p_consistent as the score, and its verdicts
VERDICT_CODE = {"consistent": 1.0, "uncertain": 0.5, "inconsistent": 0.0}


@dataclass(frozen=True)
class Record:
    benchmark: str
    index: int  # line order in the file
    id: str
    source: str
    summary: str
    label: float
    origin: str
    label_kind: str | None = None  # "binary" or "graded", as the record declares it; None: not declared


def load_benchmark(path: str | Path, name: str | None = None) -> list[Record]:
    """Records of a `{source, summary, label}` JSONL file; any malformed line is an error naming it."""
    path = Path(path)
    name = name or path.stem
    out: list[Record] = []
    try:
        # -sig: a leading BOM is not part of line 1. Split on newlines only: str.splitlines also breaks at
        # U+2028/U+2029/NEL, which JSON strings may hold raw (json.dumps(ensure_ascii=False) writes them so).
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read benchmark ({exc})") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{n}: not JSON ({exc.msg})") from exc
        if not isinstance(d, dict):
            raise InputError(f"{path}:{n}: a record must be a JSON object")
        missing = [k for k in ("source", "summary", "label") if k not in d]
        if missing:
            raise InputError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
        label = d["label"]
        if isinstance(label, bool) or not isinstance(label, (int, float)) or not math.isfinite(label):
            raise InputError(f"{path}:{n}: label must be a finite number, got {label!r}")
        if not isinstance(d["source"], str) or not isinstance(d["summary"], str):
            raise InputError(f"{path}:{n}: source and summary must be strings")
        kind = declared_kind(d.get("label_kind"), f"{path}:{n}")
        out.append(
            Record(name, len(out), str(d.get("id", n)), d["source"], d["summary"], float(label),
                   str(d.get("origin") or ALL), kind)
        )
    if not out:
        raise InputError(f"{path}: no records")
    kinds = {r.label_kind for r in out} - {None}
    if len(kinds) > 1:
        raise InputError(f"{path}: records declare different label kinds ({', '.join(sorted(kinds))}); "
                         "give --label-kind to choose one")
    return out


KINDS = ("binary", "graded")
_GRADED_WORDS = ("graded", "continuous", "likert", "ordinal", "scalar", "score")


def declared_kind(value: Any, where: str) -> str | None:
    """The metric family a record's `label_kind` names. Benchmarks write it as a word or as a sentence that
    starts with one ("binary (SummaC rule: ...)"), so the first word decides."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: label_kind must be a non-empty string, got {value!r}")
    word = value.strip().split(None, 1)[0].strip(":;,.()").lower()
    if word == "binary":
        return "binary"
    if word in _GRADED_WORDS:
        return "graded"
    raise InputError(f"{where}: label_kind {value[:60]!r} names neither binary nor graded labels; "
                     "give --label-kind binary|graded to say which")


def subsample(records: Sequence[Record], limit: int | None, seed: int) -> list[Record]:
    """A seeded random subset of `limit` records, stratified by origin and label, in file order."""
    if limit is None or limit >= len(records):
        return list(records)
    strata: dict[tuple[str, float], list[Record]] = {}
    for r in records:
        strata.setdefault((r.origin, r.label), []).append(r)
    rng = random.Random(seed)
    keep: list[Record] = []
    # Largest-remainder allocation: exactly `limit` records, each stratum in proportion to its size.
    quotas = {k: limit * len(v) / len(records) for k, v in strata.items()}
    alloc = {k: min(len(strata[k]), int(q)) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: quotas[k] - int(quotas[k]), reverse=True):
        if sum(alloc.values()) >= limit:
            break
        if alloc[k] < len(strata[k]):
            alloc[k] += 1
    for k, v in strata.items():
        keep.extend(rng.sample(v, alloc[k]))
    return sorted(keep, key=lambda r: r.index)


def label_kind(records: Sequence[Record], override: str | None = None) -> str:
    """The metric family of a group of records: `override`, else what the records declare, else a guess from
    the labels (0/1 only: binary). A graded benchmark whose subset holds only 0 and 1 keeps correlations
    when its records say graded."""
    if override is not None:
        if override not in KINDS:
            raise InputError(f"label kind must be one of {', '.join(KINDS)}, got {override!r}")
        kind = override
    else:
        declared = {r.label_kind for r in records} - {None}
        kind = declared.pop() if len(declared) == 1 else None
        if kind is None:
            return "binary" if {r.label for r in records} <= {0.0, 1.0} else "graded"
    if kind == "binary" and not {r.label for r in records} <= {0.0, 1.0}:
        bad = sorted({r.label for r in records} - {0.0, 1.0})[:3]
        raise InputError(f"{records[0].benchmark}: binary labels must be 0 or 1, found {bad}")
    return kind


@dataclass
class Row:
    benchmark: str
    origin: str
    variant: str
    kind: str
    n: int
    n_no_pairs: int
    n_errors: int
    metrics: dict[str, metrics.Estimate] = field(default_factory=dict)
    threshold: float | None = None  # the balanced-accuracy threshold, binary labels only
    note: str | None = None  # why the metrics are undefined, when they are

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark, "origin": self.origin, "variant": self.variant, "label_kind": self.kind,
            "n": self.n, "n_no_pairs": self.n_no_pairs, "n_errors": self.n_errors,
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "bacc_threshold": metrics.finite_or_none(self.threshold),
            **({"note": self.note} if self.note else {}),
        }


def agreement(scores: np.ndarray, labels: np.ndarray, kind: str, n_resamples: int, seed: int) -> dict:
    """The metrics of one row (scores and labels of the records that have a score)."""
    if kind == "graded":
        fns = {"pearson": metrics.pearson, "spearman": metrics.spearman}
    else:
        fns = {"roc_auc": metrics.roc_auc, "bacc": lambda s, y: metrics.best_balanced_accuracy(s, y)[0]}
    return {k: metrics.bootstrap(f, scores, labels, n_resamples=n_resamples, seed=seed) for k, f in fns.items()}


@dataclass
class ScoredRecord:
    record: Record
    status: str
    scores: dict[str, float | None]  # variant -> score (and VERDICT_ROW -> p_consistent, with verdicts)
    n_pairs: int
    error: str | None = None
    verdict: str | None = None  # the verdict mode's (None without a calibration)

    def to_dict(self, signature: str | None = None) -> dict[str, Any]:
        """The --scores line; with the run's signature, so that a later run reuses it only if it would compute
        the same numbers."""
        r = self.record
        d = {"benchmark": r.benchmark, "id": r.id, "origin": r.origin, "label": r.label, "status": self.status,
             "n_pairs": self.n_pairs, "quals": self.scores, "error": self.error, "verdict": self.verdict}
        return d if signature is None else {**d, "signature": signature}


def reusable(rows: Sequence[dict[str, Any]], records: Sequence[Record], variants: Sequence[str], signature: str,
             where: str) -> dict[int, ScoredRecord]:
    """Earlier --scores lines that stand for some of `records` (by benchmark and id), keyed by position in
    `records`. A line of another signature, of a record whose label or origin differ, or without a requested
    variant is an error, never silently rescored or mixed in; lines of records outside `records` are skipped."""
    by_key: dict[tuple[str, str], int] = {}
    for i, r in enumerate(records):
        if by_key.setdefault((r.benchmark, r.id), i) != i:
            raise InputError(f"{where}: {r.benchmark} has the id {r.id!r} twice; records cannot be matched by id")
    out: dict[int, ScoredRecord] = {}
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise InputError(f"{where}: line {n} is not a quals evaluate --scores line")
        i = by_key.get((str(row.get("benchmark")), str(row.get("id"))))
        if i is None:
            continue
        rec = records[i]
        if row.get("signature") != signature:
            raise InputError(f"{where}: line {n} was scored with {row.get('signature')!r}, this run is {signature!r}")
        scores = row.get("quals") or {}
        if row.get("label") != rec.label or row.get("origin") != rec.origin:
            raise InputError(f"{where}: line {n} ({rec.benchmark} {rec.id}) has another label or origin than the "
                             "benchmark record: scores of another file")
        missing = [v for v in variants if v not in scores]
        if missing:
            raise InputError(f"{where}: line {n} lacks the variant(s) {', '.join(missing)}")
        kept = {v: scores[v] for v in (*variants, VERDICT_ROW) if v in scores}
        out[i] = ScoredRecord(rec, str(row.get("status")), kept, int(row.get("n_pairs", 0)), row.get("error"),
                              row.get("verdict"))
    return out


def read_scores(path: str | Path) -> list[dict[str, Any]]:
    """The lines of a `quals evaluate --scores` file (split on newlines only, a leading BOM dropped)."""
    try:
        return [json.loads(x) for x in Path(path).read_text(encoding="utf-8-sig").split("\n") if x.strip()]
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not a --scores file of quals evaluate ({exc})") from exc


def earlier_scores(records: Sequence[Record], variants: Sequence[str], signature: str, *,
                   resume: str | Path | None = None, reuse: Sequence[str | Path] = ()
                   ) -> tuple[dict[int, ScoredRecord], set[tuple[str, str]], list[str]]:
    """Records scored before: from `resume` (the --scores file of a killed run; a torn last line is cut off)
    and from `reuse` (--scores files of other runs). Returns (position in records -> ScoredRecord, the
    (benchmark, id) keys already in the resume file, one line per file saying how many it gave)."""
    done: dict[int, ScoredRecord] = {}
    on_disk: set[tuple[str, str]] = set()
    notes = []
    for path in ([resume] if resume else []) + list(reuse):
        rows = read_written(path, "jsonl", None).records if path is resume else read_scores(path)
        found = reusable(rows, records, variants, signature, str(path))
        if path is resume:
            on_disk = {(x.record.benchmark, x.record.id) for x in found.values()}
        done.update({i: x for i, x in found.items() if i not in done})
        notes.append(f"{path}: {len(found)} of the {len(records)} records already scored")
    return done, on_disk, notes


def score_records(
    runner: Scorer | ScorerPool,
    records: Sequence[Record],
    variants: Sequence[str],
    *,
    batch_size: int = 1,
    progress: Callable[[int], None] | None = None,
    done: dict[int, ScoredRecord] | None = None,
    on_scored: Callable[[ScoredRecord], None] | None = None,
) -> list[ScoredRecord]:
    """Score every record once (in one process or a pool's workers: the same numbers) and keep each variant.

    done: records already scored (reusable's output), taken as they are; on_scored sees each newly scored
    record as soon as its batch is back (a killed run keeps what it finished). Returns all, in record order."""
    done = dict(done or {})
    todo = [i for i in range(len(records)) if i not in done]
    chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    batches = (([records[i].source for i in c], [records[i].summary for i in c]) for c in chunks)
    for chunk, results in zip(chunks, runner.score_batches(batches, progress)):
        for i, res in zip(chunk, results):
            scores = {v: mean_value(res.pairs, v) for v in variants}
            if res.p_consistent is not None:
                scores[VERDICT_ROW] = res.p_consistent
            done[i] = ScoredRecord(records[i], res.status, scores, res.n_pairs, res.error, res.verdict)
            if on_scored:
                on_scored(done[i])
    return [done[i] for i in range(len(records))]


def score_with_file(runner: Any, records: Sequence[Record], variants: Sequence[str], signature: str, *,
                    scores_path: str | Path | None = None, resume: bool = False, reuse: Sequence[str | Path] = (),
                    progress: Callable[[int], None] | None = None,
                    note: Callable[[str], None] = lambda _: None) -> tuple[list[ScoredRecord], int]:
    """score_records, with the --scores file: each record's line is written (and flushed) as soon as it is
    scored; `resume` continues the file a killed run left and `reuse` takes records from other runs' files
    (same signature). When lines came from elsewhere the finished file is rewritten in record order (atomically).
    `note` receives one line per earlier file; `progress` counts reused records too. Returns (every record's
    ScoredRecord, how many were reused)."""
    done, on_disk, notes = earlier_scores(records, variants, signature,
                                          resume=scores_path if resume else None, reuse=reuse)
    for line in notes:
        note(line)
    if progress and done:
        progress(len(done))
    stream = open(scores_path, "ab" if resume else "wb") if scores_path else None

    def write(s: ScoredRecord) -> None:
        if stream is not None and (s.record.benchmark, s.record.id) not in on_disk:
            stream.write(json_line(s.to_dict(signature)).encode("utf-8"))
            stream.flush()

    try:
        for i in sorted(done):
            write(done[i])
        scored = score_records(runner, records, variants, progress=progress, done=done, on_scored=write)
    finally:
        if stream is not None:
            stream.close()
    if scores_path and (done or resume):  # lines taken from elsewhere came first: the file in record order
        tmp = Path(str(scores_path) + ".tmp")
        tmp.write_bytes(b"".join(json_line(s.to_dict(signature)).encode("utf-8") for s in scored))
        tmp.replace(scores_path)
    return scored, len(done)


def report_document(rows: Sequence[Row], *, signature: str, benchmarks: Sequence[str], limit: int | None, seed: int,
                    n_resamples: int, seconds: float, engine: dict[str, Any], n_scored: int,
                    n_reused: int) -> dict[str, Any]:
    """The --json report of an evaluation: its rows, and what it ran with."""
    return {"signature": signature, "benchmarks": [str(b) for b in benchmarks], "limit": limit, "seed": seed,
            "bootstrap": n_resamples, "seconds": seconds, "workers": engine.get("workers", 1), "engine": engine,
            "n_scored": n_scored, "n_reused": n_reused, "rows": [r.to_dict() for r in rows]}


def undefined_because(scores: np.ndarray, labels: np.ndarray, kind: str, n: int) -> str | None:
    """Why a row's metrics cannot be computed (None when they can), in words for the report's reader."""
    if len(scores) < 2:
        return f"{len(scores)} of {n} record(s) have a score: the metrics need at least 2"
    if kind == "binary" and len(set(labels.tolist())) < 2:
        return (f"every one of the {len(labels)} scored records has label {labels[0]:g}: ROC-AUC and balanced "
                "accuracy need both classes (score more records, or a sample that holds both)")
    if kind == "graded" and len(set(labels.tolist())) < 2:
        return f"the {len(labels)} scored records all have label {labels[0]:g}: correlations need varied labels"
    if len(set(scores.tolist())) < 2:
        return f"the {len(scores)} scored records all have the same score: the metrics are undefined"
    return None


def verdict_metrics(codes: np.ndarray, labels: np.ndarray, n_resamples: int, seed: int) -> dict:
    """How the verdicts (VERDICT_CODE: 1 consistent, 0.5 uncertain, 0 inconsistent) agree with binary labels:
    balanced accuracy with uncertain counted wrong, the share of uncertain, and precision and recall of each
    side (precision over the records given that verdict; recall over the records of that label)."""
    def share(mask: np.ndarray, of: np.ndarray) -> float:
        return float(mask[of].mean()) if of.any() else float("nan")

    fns = {
        "verdict_bacc": lambda c, y: 0.5 * (share(c == 1.0, y > 0.5) + share(c == 0.0, y < 0.5)),
        "uncertain": lambda c, y: float((c == 0.5).mean()),
        "precision_inconsistent": lambda c, y: share(y < 0.5, c == 0.0),
        "recall_inconsistent": lambda c, y: share(c == 0.0, y < 0.5),
        "precision_consistent": lambda c, y: share(y > 0.5, c == 1.0),
        "recall_consistent": lambda c, y: share(c == 1.0, y > 0.5),
    }
    return {k: metrics.bootstrap(f, codes, labels, n_resamples=n_resamples, seed=seed) for k, f in fns.items()}


def report(scored: Sequence[ScoredRecord], variants: Sequence[str], *, n_resamples: int, seed: int,
           kind: str | None = None) -> list[Row]:
    """One row per benchmark x origin (all, then each origin when there are several) x variant, and, when the
    records carry verdicts, a VERDICT_ROW row: p_consistent as the score, with the verdicts' own metrics
    (verdict_metrics) for binary labels.

    Each benchmark's metric family is decided once, on all its records (`label_kind`), so that its origins
    are reported with the same metrics."""
    if any(VERDICT_ROW in s.scores for s in scored):
        variants = [*variants, VERDICT_ROW]
    rows: list[Row] = []
    benches = list(dict.fromkeys(s.record.benchmark for s in scored))
    for b in benches:
        mine = [s for s in scored if s.record.benchmark == b]
        origins = list(dict.fromkeys(s.record.origin for s in mine))
        groups = [(ALL, mine)] + ([(o, [s for s in mine if s.record.origin == o]) for o in origins]
                                  if len(origins) > 1 else [])
        bench_kind = label_kind([s.record for s in mine], kind)
        for origin, group in groups:
            for v in variants:
                ok = [s for s in group if s.scores.get(v) is not None]
                row = Row(b, origin, v, bench_kind, len(group), sum(s.status == STATUS_NO_PAIRS for s in group),
                          sum(s.status == STATUS_ERROR for s in group))
                x = np.array([s.scores[v] for s in ok])
                y = np.array([s.record.label for s in ok])
                row.note = undefined_because(x, y, bench_kind, len(group))
                if len(ok) >= 2:
                    row.metrics = agreement(x, y, bench_kind, n_resamples, seed)
                    if bench_kind == "binary":
                        row.threshold = metrics.best_balanced_accuracy(x, y)[1]
                    if v == VERDICT_ROW and bench_kind == "binary":
                        codes = np.array([VERDICT_CODE[s.verdict] for s in ok])
                        row.metrics.update(verdict_metrics(codes, y, n_resamples, seed))
                rows.append(row)
    return rows


def format_table(rows: Sequence[Row]) -> str:
    """A plain-text table: one line per row, each metric as value [low, high]."""
    def est(e: metrics.Estimate | None) -> str:
        if e is None or not np.isfinite(e.value):
            return "-"
        ci = f" [{e.low:.3f}, {e.high:.3f}]" if np.isfinite(e.low) else ""
        return f"{e.value:.3f}{ci}"

    head = ("benchmark", "origin", "variant", "n", "no_pairs", "errors", "roc_auc", "bacc", "pearson", "spearman")
    extra = ("verdict_bacc", "uncertain") if any("verdict_bacc" in r.metrics for r in rows) else ()
    head += extra
    lines = [head]
    for r in rows:
        m = r.metrics
        lines.append((r.benchmark, r.origin, r.variant, str(r.n), str(r.n_no_pairs), str(r.n_errors),
                      est(m.get("roc_auc")), est(m.get("bacc")), est(m.get("pearson")), est(m.get("spearman")),
                      *(est(m.get(k)) for k in extra)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)
