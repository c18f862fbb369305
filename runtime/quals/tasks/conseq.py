"""ConSeq's training sets from QUALS: S+ (high-QUALS references) and S- (low-QUALS generations).

The seed paper's contrastive step, as the authors' code builds it (docs/conseq.md):
- every reference and every sampled candidate summary of a document is scored with QUALS;
- a document's negative is its lowest-QUALS candidate; the documents whose negative lies among the
  lowest `neg_ratio` of all documents form N-, sorted ascending, the first round(neg_ratio * N) kept;
- the documents whose reference lies among the highest `pos_ratio` form N+, likewise;
- the documents in both (by default) give `train.source` (the document), `train.target` (S+, its
  reference) and `train.untarget` (S-, its negative), aligned line by line, in input order.

Departures from the authors' code, each on purpose: a summary with no QA pair has no score and is left
out and counted (their code gives it +/-1e5 sentinels, which a ratio can then select); N counts every
document of the input, as theirs does, so the ratios mean the same; ties are broken by input order (a
stable sort), so the sets are deterministic. Line breaks inside a text become spaces in the training files
(one line per document is the format) and are counted in the report.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import InputError
from ..result import STATUS_ERROR, STATUS_OK, Result
from .io import BOM, json_line, parse_json_line

SCORED_FILE, REPORT_FILE = "scored.jsonl", "report.json"
SOURCE_FILE, TARGET_FILE, UNTARGET_FILE = "train.source", "train.target", "train.untarget"
# With intersect=False the two sets are not aligned, so each gets its own source file.
SEPARATE_FILES = {"pos": ("target.source", TARGET_FILE), "neg": ("untarget.source", UNTARGET_FILE)}


@dataclass(frozen=True)
class Document:
    """One input record: `{id, source, reference, candidates: [str, ...]}` (other fields are ignored)."""

    index: int  # position in the input
    id: str
    source: str = ""
    reference: str = ""
    candidates: tuple[str, ...] = ()
    error: str | None = None  # why the record cannot be used (it still gets its scored line)


def read_documents(stream: IO[bytes]) -> Iterator[Document]:
    """The documents of a JSONL stream, in order; a line that cannot be used is a Document with `error`."""
    index = 0
    for n, raw in enumerate(stream, start=1):
        if not raw.strip():
            continue
        yield _document(raw, n, index)
        index += 1


def _document(raw: bytes, n: int, index: int) -> Document:
    try:
        d = parse_json_line(raw.decode("utf-8").lstrip(BOM))
    except UnicodeDecodeError:
        return Document(index, str(index), error=f"line {n}: not valid UTF-8")
    except (ValueError, RecursionError) as exc:
        return Document(index, str(index), error=f"line {n}: not JSON ({exc})")
    if not isinstance(d, dict):
        return Document(index, str(index), error=f"line {n}: a record must be a JSON object")
    doc_id = d.get("id", index)
    doc_id = doc_id if isinstance(doc_id, str) else json.dumps(doc_id)
    missing = [k for k in ("source", "reference", "candidates") if k not in d]
    if missing:
        return Document(index, doc_id, error=f"line {n}: missing field(s): {', '.join(missing)}")
    cands = d["candidates"]
    if not isinstance(d["source"], str) or not isinstance(d["reference"], str):
        return Document(index, doc_id, error=f"line {n}: source and reference must be strings")
    if not isinstance(cands, list) or not all(isinstance(c, str) for c in cands):
        return Document(index, doc_id, error=f"line {n}: candidates must be a list of strings")
    return Document(index, doc_id, d["source"], d["reference"], tuple(cands))


# -- scoring ----------------------------------------------------------------------------------------------

def _summary_record(r: Result) -> dict[str, Any]:
    d: dict[str, Any] = {"quals": r.quals, "status": r.status, "n_pairs": r.n_pairs}
    if r.error is not None:
        d["error"] = r.error
    if r.source_truncated:
        d["source_truncated"] = True
    if r.summary_truncated:
        d["summary_truncated"] = True
    return d


def scored_line(doc: Document, reference: Result | None, candidates: Sequence[Result]) -> dict[str, Any]:
    """The scored JSONL record of one document: every summary with its score and status."""
    rec: dict[str, Any] = {"index": doc.index, "id": doc.id, "status": STATUS_ERROR if doc.error else STATUS_OK}
    if doc.error:
        rec["error"] = doc.error
        return rec
    rec["reference"] = _summary_record(reference) if reference is not None else None
    rec["candidates"] = [_summary_record(r) for r in candidates]
    if any(s["status"] == STATUS_ERROR for s in [rec["reference"], *rec["candidates"]]):
        rec["status"] = STATUS_ERROR  # some summary failed: the exit code says so
    return rec


def document_batches(docs: Sequence[Document], batch_size: int) -> Iterator[list[Document]]:
    """Whole documents, about `batch_size` summaries per batch (a batch shares each source's encoding)."""
    batch: list[Document] = []
    n = 0
    for doc in docs:
        batch.append(doc)
        n += 0 if doc.error else 1 + len(doc.candidates)
        if n >= batch_size:
            yield batch
            batch, n = [], 0
    if batch:
        yield batch


def score_documents(runner, docs: Sequence[Document], *, batch_size: int = 16,
                    progress: Callable[[int], None] | None = None) -> Iterator[dict[str, Any]]:
    """The scored record of each document, in order. `runner` is a Scorer, a ScorerPool or a RayRunner
    (anything with `score_batches`); every summary's number is the one `quals score` gives it."""
    batches = list(document_batches(docs, batch_size))

    def pairs(batch: list[Document]) -> tuple[list[str], list[str]]:
        sources, summaries = [], []
        for d in batch:
            if d.error is None:
                sources += [d.source] * (1 + len(d.candidates))
                summaries += [d.reference, *d.candidates]
        return sources, summaries

    for batch, results in zip(batches, runner.score_batches((pairs(b) for b in batches), progress)):
        it = iter(results)
        for d in batch:
            if d.error is not None:
                yield scored_line(d, None, ())
            else:
                ref = next(it)
                yield scored_line(d, ref, [next(it) for _ in d.candidates])


# -- selection ---------------------------------------------------------------------------------------------

@dataclass
class Selection:
    """The documents chosen for S+ and S-, by input index, and how they were chosen."""

    n_documents: int
    neg: dict[int, int]  # document index -> index of its worst candidate, for documents in N-
    pos: list[int]  # document indices in N+
    used: list[int]  # N+ and N- (intersected, or their union when separate), in input order
    k_neg: int
    k_pos: int
    threshold_neg: float | None  # the highest worst-candidate score in N-
    threshold_pos: float | None  # the lowest reference score in N+
    counts: dict[str, Any] = field(default_factory=dict)
    distributions: dict[str, Any] = field(default_factory=dict)


def _score(s: dict | None) -> float | None:
    if not s or s.get("status") != STATUS_OK:
        return None
    q = s.get("quals")
    return float(q) if isinstance(q, (int, float)) and math.isfinite(q) else None


def worst_candidate(rec: dict[str, Any]) -> tuple[int, float] | None:
    """(candidate index, score) of the lowest-QUALS candidate with a score; the first among ties."""
    scored = [(i, q) for i, c in enumerate(rec.get("candidates") or []) if (q := _score(c)) is not None]
    return min(scored, key=lambda t: t[1]) if scored else None


def select_documents(records: Sequence[dict[str, Any]], neg_ratio: float = 0.3, pos_ratio: float = 0.3, *,
           intersect: bool = True) -> Selection:
    """The authors' make_unlikelihood_dataset on scored records (one per document, in input order)."""
    for name, r in (("neg_ratio", neg_ratio), ("pos_ratio", pos_ratio)):
        if not 0.0 <= r <= 1.0:
            raise InputError(f"{name} must be between 0 and 1, got {r}")
    n = len(records)
    worst = {rec["index"]: w for rec in records if (w := worst_candidate(rec)) is not None}
    refs = {rec["index"]: q for rec in records if (q := _score(rec.get("reference"))) is not None}
    k_neg, k_pos = round(neg_ratio * n), round(pos_ratio * n)  # Python's round, as the authors' code
    order = {rec["index"]: i for i, rec in enumerate(records)}
    neg_sorted = sorted(worst, key=lambda d: (worst[d][1], order[d]))[:k_neg]
    pos_sorted = sorted(refs, key=lambda d: (-refs[d], order[d]))[:k_pos]
    neg = {d: worst[d][0] for d in neg_sorted}
    pos_set = set(pos_sorted)
    chosen = (pos_set & set(neg)) if intersect else (pos_set | set(neg))
    used = sorted(chosen, key=order.get)

    statuses: dict[str, Counter] = {"reference": Counter(), "candidate": Counter()}
    bad = 0
    for rec in records:
        if rec.get("reference") is None and not rec.get("candidates"):
            bad += 1
            continue
        statuses["reference"][(rec.get("reference") or {}).get("status", STATUS_ERROR)] += 1
        for c in rec.get("candidates") or []:
            statuses["candidate"][c.get("status", STATUS_ERROR)] += 1
    counts = {
        "documents": n,
        "unusable_documents": bad,
        "references": dict(statuses["reference"]),
        "candidates": dict(statuses["candidate"]),
        "documents_with_a_scored_reference": len(refs),
        "documents_with_a_scored_candidate": len(worst),
        "negatives": len(neg),
        "positives": len(pos_set),
        "used": len(used),
    }
    all_cands = [q for rec in records for c in rec.get("candidates") or [] if (q := _score(c)) is not None]
    distributions = {
        "reference": describe(list(refs.values())),
        "candidate": describe(all_cands),
        "worst_candidate": describe([w[1] for w in worst.values()]),
        "positives": describe([refs[d] for d in pos_sorted]),
        "negatives": describe([worst[d][1] for d in neg_sorted]),
    }
    return Selection(
        n, neg, pos_sorted, used, k_neg, k_pos,
        threshold_neg=worst[neg_sorted[-1]][1] if neg_sorted else None,
        threshold_pos=refs[pos_sorted[-1]] if pos_sorted else None,
        counts=counts, distributions=distributions,
    )


def empty_sets(sel: Selection, neg_ratio: float, pos_ratio: float, intersect: bool) -> list[str]:
    """Why a training set came out empty, in words, with how many documents it would need (none: not empty)."""
    c, out = sel.counts, []

    def needed(ratio: float) -> str:
        if ratio <= 0:
            return "a ratio above 0"
        n = next(n for n in range(1, 10**7) if round(ratio * n) >= 1)  # Python's round, as select_documents
        return f"at least {n} documents at this ratio"

    for name, k, ratio, kind in (("S-", sel.k_neg, neg_ratio, "candidate"), ("S+", sel.k_pos, pos_ratio, "reference")):
        if c["negatives" if name == "S-" else "positives"]:
            continue
        if k == 0:
            out.append(f"{name} is empty: k = round({ratio:g} x {c['documents']} documents) = 0; it needs "
                       f"{needed(ratio)}")
        else:
            out.append(f"{name} is empty: none of the {c['documents']} documents has a scored {kind} (each had no QA "
                       "pair or an error: see scored.jsonl)")
    if intersect and c["used"] == 0 and c["negatives"] and c["positives"]:
        out.append(f"no document is in both S+ ({c['positives']}) and S- ({c['negatives']}), so the aligned training "
                   "files are empty: more documents, larger ratios, or --separate")
    return out


def describe(values: Sequence[float]) -> dict[str, Any]:
    """n, mean and quantiles of a score distribution (null when there are none)."""
    if not values:
        return {"n": 0}
    a = np.asarray(values, dtype=np.float64)
    q = np.percentile(a, [0, 10, 25, 50, 75, 90, 100])
    return {"n": len(a), "mean": float(a.mean()), "min": float(q[0]), "p10": float(q[1]), "p25": float(q[2]),
            "median": float(q[3]), "p75": float(q[4]), "p90": float(q[5]), "max": float(q[6])}


# -- training files ----------------------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def one_line(text: str) -> tuple[str, bool]:
    """`text` on one line (line breaks become one space each run), and whether it had any."""
    out = _LINE_BREAK.sub(" ", text)
    return out, out != text


def write_training_files(docs: Iterable[Document], sel: Selection, out_dir: Path, *,
                         intersect: bool = True) -> dict[str, int]:
    """Write the fairseq-layout files for the selected documents (one pass over `docs`, in input order).

    Returns line counts per file and how many texts had line breaks replaced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = set(sel.used)
    pos, neg = set(sel.pos), sel.neg
    if intersect:
        names = {"source": SOURCE_FILE, "target": TARGET_FILE, "untarget": UNTARGET_FILE}
    else:
        names = {"pos_source": SEPARATE_FILES["pos"][0], "target": TARGET_FILE,
                 "neg_source": SEPARATE_FILES["neg"][0], "untarget": UNTARGET_FILE}
    stale = {SOURCE_FILE, TARGET_FILE, UNTARGET_FILE, *(f for f, _ in SEPARATE_FILES.values())} - set(names.values())
    for name in stale:  # an earlier run's files of the other layout would pass for this run's
        (out_dir / name).unlink(missing_ok=True)
    files = {k: open(out_dir / v, "w", encoding="utf-8", errors="backslashreplace", newline="\n")
             for k, v in names.items()}
    lines = Counter()
    replaced = 0
    try:
        for doc in docs:
            if doc.index not in wanted or doc.error:
                continue
            texts: dict[str, str] = {}
            if intersect:
                texts = {"source": doc.source, "target": doc.reference, "untarget": doc.candidates[neg[doc.index]]}
            else:
                if doc.index in pos:
                    texts.update(pos_source=doc.source, target=doc.reference)
                if doc.index in neg:
                    texts.update(neg_source=doc.source, untarget=doc.candidates[neg[doc.index]])
            for key, text in texts.items():
                line, changed = one_line(text)
                replaced += changed
                files[key].write(line + "\n")
                lines[names[key]] += 1
    finally:
        for f in files.values():
            f.close()
    return {"lines": {names[k]: lines[names[k]] for k in names}, "texts_with_line_breaks_replaced": replaced}


def report(sel: Selection, files: dict[str, Any], *, signature: str, neg_ratio: float, pos_ratio: float,
           intersect: bool, seconds: float | None = None) -> dict[str, Any]:
    """The JSON report: counts, the thresholds the ratios gave, the score distributions."""
    return {
        "signature": signature,
        "rule": "S- = each document's lowest-QUALS candidate, in the lowest neg_ratio; "
                "S+ = references in the highest pos_ratio; " + ("documents in both" if intersect else
                                                                  "each set on its own"),
        "neg_ratio": neg_ratio,
        "pos_ratio": pos_ratio,
        "intersect": intersect,
        "k_neg": sel.k_neg,
        "k_pos": sel.k_pos,
        "threshold_neg": sel.threshold_neg,
        "threshold_pos": sel.threshold_pos,
        "no_score_policy": "summaries with no QA pair (no_qa_pairs) or an error have no score: left out, counted",
        "counts": sel.counts,
        "distributions": sel.distributions,
        "files": files,
        "seconds": seconds,
    }


def write_scored(records: Iterable[dict[str, Any]], stream: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Write each scored record as one whole line as it comes (a killed run can be resumed), passing it on."""
    for rec in records:
        stream.write(json_line(rec).encode("utf-8"))
        stream.flush()
        yield rec



def build(runner, docs: Sequence[Document], out_dir: Path, *, signature: str, done: Sequence[dict[str, Any]] = (),
          neg_ratio: float = 0.3, pos_ratio: float = 0.3, separate: bool = False, batch_size: int = 16,
          progress: Callable[[int], None] | None = None) -> tuple[Selection, dict[str, Any], list[dict[str, Any]]]:
    """`quals conseq`'s job in `out_dir`: score the documents not in `done` (the scored lines a killed run left,
    in order) into scored.jsonl (appended line by line: resumable), select S+/S-, write the training files and
    report.json. Returns (the selection, the report, every document's scored line)."""
    t0 = time.perf_counter()
    todo = docs[len(done):]
    with open(out_dir / SCORED_FILE, "ab" if done else "wb", buffering=0) as stream:
        records = list(done) + list(write_scored(score_documents(runner, todo, batch_size=batch_size,
                                                                 progress=progress), stream))
    seconds = time.perf_counter() - t0
    sel = select_documents(records, neg_ratio, pos_ratio, intersect=not separate)
    files = write_training_files(docs, sel, out_dir, intersect=not separate)
    doc = report(sel, files, signature=signature, neg_ratio=neg_ratio, pos_ratio=pos_ratio,
                 intersect=not separate, seconds=seconds)
    (out_dir / REPORT_FILE).write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                                       encoding="utf-8")
    return sel, doc, records
