"""Fit the verdict calibration of a bundle (quals.verdict), reproducibly, with one command.

    python -m quals.train.calibrate --model models/default [--data ../shared/data] [--work build/calibrate]
    (make calibrate)

1. The calibration set (`quals.train.calibration_set`: summaries of the held-out pool articles, right and
   wrong, never a development benchmark) is scored with the bundle (`quals score --details --no-verdicts
   --coverage-pairs`, resumable: a killed fit continues where it stopped).
2. Every selected pair and every coverage pair (quals.coverage) gets the features of quals.verdict and a
   label: unsupported when its answer or its question holds a word of the planted replacement of a swapped
   summary, or belongs to a summary of another article; supported otherwise.
3. A logistic regression on the standardised features gives the pair logit; a second one, on an aggregate
   of a summary's pair logits, gives p_consistent. Both are L2-penalised (1e-2) and fitted by Newton's method:
   deterministic, no solver options to drift.
4. Thresholds: an answer is a verdict only where the calibration set says it is reliable. `consistent_from`
   is the lowest p_consistent above which at least PRECISION of the calibration records (5-fold
   cross-validated over documents) are consistent, `inconsistent_below` the highest below which at least
   PRECISION are not; between them: uncertain. The same for pairs. Where the two would cross, both are the
   threshold of the best balanced accuracy (no uncertain band).
5. `calibration.json` is written beside the bundle (not part of it: refitting keeps the bundle's id), with its
   provenance, the cross-validated figures and the word list the coverage pairs find facts with (quals.facts'
   shipped list: the file holds every input of a verdict, for any host); its sha256 is its id in the
   signature (cal:ID).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from quals.bundle import load_bundle
from quals.facts import common_words
from quals.tasks.evaluate import verdict_metrics
from quals.tasks.metrics import best_balanced_accuracy, roc_auc
from quals.text import TextCodec
from quals.verdict import AGGREGATES, Calibration, PairEvidence, SourceText, write_calibration
from quals.verdict import FEATURES as ALL_FEATURES

from . import calibration_set
from .data import jsonl_text, read_jsonl, write_jsonl

# Chosen by `python scripts/verdict_features.py` on every development record (docs/verdicts.md): the answer's
# and the whole pair's log-likelihood differences, and whether the answer is written in the source at all; the
# mean of the pair logits (the minimum and the soft minimum fit the calibration set better but lose on SummEval
# and Polytope).
FEATURES = ("answer_diff", "pair_diff", "answer_in_source", "answer_words_in_source")
AGGREGATE = "mean"
PRECISION = 0.9
L2 = 1e-2
FOLDS = 5


# -- data -----------------------------------------------------------------------------------------------
@dataclass
class Record:
    id: str
    doc: str
    label: int  # 1 consistent
    x: np.ndarray  # (n_pairs, n_features)
    pair_labels: np.ndarray  # (n_pairs,)


class Evidence:
    """PairEvidence of the pairs of a `quals score --details` record, as the Scorer builds it."""

    def __init__(self, model: Path):
        b = load_bundle(model, verify=False)
        m = b.manifest
        self.codec = TextCodec(b.file("tokenizer"), m.tokens, m.encoding)
        self.sep, self.eos = m.separator.id, m.tokens.eos
        self.ignore = frozenset(m.ans_lm_ignore_ids) | {t for t in (m.tokens.eos, m.tokens.bos) if t is not None}

    def source(self, text: str) -> SourceText:
        return SourceText.of(text, self.codec.roundtrip(text))

    def of(self, pair: dict, source: SourceText, coverage: bool = False) -> PairEvidence:
        """A selected pair's answer text is its decoded answer tokens; a coverage pair's is the fact as the
        summary writes it (as the Scorer reads them)."""
        toks = pair["tokens"]
        s = toks.index(self.sep)
        end = len(toks) - 1 if toks and toks[-1] == self.eos else len(toks)
        answer_index = tuple(i for i in range(s + 1, end) if toks[i] not in self.ignore)
        answer = pair["answer"] if coverage else self.codec.decode(toks[s + 1:end])
        return PairEvidence(np.asarray(pair["logp_source"]), np.asarray(pair["logp_summary"]),
                            np.asarray(pair["search_scores"]), tuple(range(s)), answer_index, answer.lower(), source)


def pair_label(pair: dict, summary: str, planted: Sequence[int] | None, label: int) -> int:
    """1 supported, 0 unsupported (see the module's docstring)."""
    if label == 1:
        return 1
    if planted is None:
        return 0
    planted_words = {w.strip(".,'\"()").replace(",", "").lower() for w in summary[planted[0]:planted[1]].split()}
    planted_words = {w for w in planted_words if len(w) > 1 or w.isdigit()}
    text = f"{pair['answer']} {pair['question']}".lower().replace(",", "")
    pair_words = {w.strip(".,'\"()?") for w in text.split()}
    return 0 if planted_words & pair_words else 1


def records(details: Path, inputs: Path, evidence: Evidence, features: Sequence[str]) -> list[Record]:
    by_id = {str(r["id"]): r for r in read_jsonl(inputs)}
    out = []
    for line in details.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if not r.get("pairs"):
            continue
        src = by_id[str(r["id"])]
        source = evidence.source(src["source"].strip())
        pairs = [(p, False) for p in r["pairs"]] + [(p, True) for p in r.get("coverage_pairs") or ()]
        ev = [evidence.of(p, source, coverage) for p, coverage in pairs]
        x = np.array([[ALL_FEATURES[f](e) for f in features] for e in ev], dtype=float)
        labels = np.array([pair_label(p, src["summary"].strip(), src.get("planted"), int(src["label"]))
                           for p, _ in pairs])
        out.append(Record(str(r["id"]), src.get("doc", str(r["id"])), int(src["label"]), x, labels))
    return out


# -- model ----------------------------------------------------------------------------------------------
def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """(weights, bias) minimising the log-loss + l2/2 |weights|^2, by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(xb.shape[1])
    reg = l2 * np.r_[np.ones(xb.shape[1] - 1), 0.0]
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(xb @ beta)))
        grad = xb.T @ (p - y) + reg * beta
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-12 * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta[:-1], float(beta[-1])


@dataclass
class Fitted:
    center: np.ndarray
    scale: np.ndarray
    w: np.ndarray
    b: float
    v: np.ndarray
    c: float

    def pair_logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.center) / self.scale) @ self.w + self.b

    def p_consistent(self, rec: Record) -> float:
        agg = np.asarray(AGGREGATES[AGGREGATE](self.pair_logits(rec.x)))
        return float(1.0 / (1.0 + np.exp(-(agg @ self.v + self.c))))


def fit(recs: Sequence[Record]) -> Fitted:
    x = np.vstack([r.x for r in recs])
    y = np.concatenate([r.pair_labels for r in recs]).astype(float)
    center, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    w, b = fit_logistic((x - center) / scale, y)
    m = Fitted(center, scale, w, b, np.zeros(1), 0.0)
    agg = np.array([AGGREGATES[AGGREGATE](m.pair_logits(r.x)) for r in recs])
    m.v, m.c = fit_logistic(agg, np.array([r.label for r in recs], dtype=float))
    return m


def folds(recs: Sequence[Record], k: int = FOLDS) -> list[int]:
    """A fold per record, by document (seeded), so that no document is fitted and measured in one fold."""
    docs = sorted({r.doc for r in recs})
    order = np.random.default_rng(0).permutation(len(docs))
    fold = {docs[j]: i % k for i, j in enumerate(order)}
    return [fold[r.doc] for r in recs]


def cross_validated(recs: Sequence[Record]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(p_consistent per record, p_supported per pair, pair labels), each from a model fitted without the
    record's fold."""
    f = folds(recs)
    p_sum = np.zeros(len(recs))
    p_pair, y_pair = [], []
    for k in range(FOLDS):
        train = [r for r, fk in zip(recs, f) if fk != k]
        m = fit(train)
        for i, (r, fk) in enumerate(zip(recs, f)):
            if fk == k:
                p_sum[i] = m.p_consistent(r)
                p_pair.append(1.0 / (1.0 + np.exp(-m.pair_logits(r.x))))
                y_pair.append(r.pair_labels)
    return p_sum, np.concatenate(p_pair), np.concatenate(y_pair)


def thresholds(y: np.ndarray, p: np.ndarray, precision: float = PRECISION) -> tuple[float, float]:
    """(lower, upper): p >= upper holds >= `precision` positives, p < lower >= `precision` negatives; the
    widest such region on each side. Crossing: both at the best balanced accuracy's threshold."""
    cands = np.unique(p)
    upper = next((float(t) for t in cands if (y[p >= t] == 1).mean() >= precision), 1.0)
    lower = next((float(t) for t in cands[::-1] if (p < t).any() and (y[p < t] == 0).mean() >= precision), 0.0)
    if lower > upper:
        t = best_balanced_accuracy(p, y)[1]
        return t, t
    return lower, upper


def report(y: np.ndarray, p: np.ndarray, lo: float, hi: float) -> dict:
    """The verdicts that thresholds (lo, hi) give, against the labels (evaluate.verdict_metrics' figures, under
    the names the calibration file keeps)."""
    codes = np.where(p >= hi, 1.0, np.where(p < lo, 0.0, 0.5))
    m = {k: e.value for k, e in verdict_metrics(codes, y, n_resamples=0, seed=0).items()}

    def rounded(x: float) -> float | None:
        return None if np.isnan(x) else round(float(x), 4)

    return {"roc_auc": rounded(roc_auc(p, y)), "balanced_accuracy": rounded(m["verdict_bacc"]),
            "uncertain": rounded(m["uncertain"]), "precision_positive": rounded(m["precision_consistent"]),
            "precision_negative": rounded(m["precision_inconsistent"]), "n": int(len(y))}


# -- command --------------------------------------------------------------------------------------------
def score_set(model: Path, inputs: Path, out: Path, workers: int, threads: int) -> None:
    """`quals score --details --no-verdicts --coverage-pairs` of the calibration set, resumable (no verdicts: the
    bundle's current calibration may be another bundle's, which the scorer refuses)."""
    if out.is_file() and sum(1 for _ in out.open(encoding="utf-8")) == sum(1 for _ in inputs.open(encoding="utf-8")):
        return
    cmd = [sys.executable, "-m", "quals", "score", "--model", str(model), "--input", str(inputs), "--output",
           str(out), "--details", "--drop-text", "--no-verdicts", "--coverage-pairs", "--workers", str(workers),
           "--threads", str(threads), "--resume"]
    print("scoring the calibration set:", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def calibrate(model: Path, details: Path, inputs: Path) -> tuple[Calibration, dict]:
    bundle = load_bundle(model, verify=True)
    recs = records(details, inputs, Evidence(model), FEATURES)
    p_sum, p_pair, y_pair = cross_validated(recs)
    y_sum = np.array([r.label for r in recs])
    pair_t = thresholds(y_pair, p_pair)
    sum_t = thresholds(y_sum, p_sum)
    m = fit(recs)
    cv = {"summary": report(y_sum, p_sum, *sum_t), "pair": report(y_pair, p_pair, *pair_t), "folds": FOLDS}
    data_sha = hashlib.sha256(inputs.read_bytes()).hexdigest()
    provenance = {
        "fitted_by": "python -m quals.train.calibrate",  # no date: the same bundle and data give the same file
        "data": {"set": "quals.train.calibration_set (held-out pool articles: lead, sentence, their swaps, "
                        "another article's lead)", "sha256": data_sha, "records": len(recs),
                 "documents": len({r.doc for r in recs}), "pairs": int(len(y_pair)),
                 "unsupported_pairs": int((y_pair == 0).sum()), "consistent_records": int(y_sum.sum())},
        "model": {"pairs": "logistic regression, L2 1e-2, standardised features",
                  "summary": f"logistic regression on the {AGGREGATE} of the pair logits",
                  "thresholds": f"precision >= {PRECISION} on each side, cross-validated"},
        "cross_validated": cv,
    }
    cal = Calibration(
        bundle=bundle.digest, features=FEATURES, center=tuple(float(v) for v in m.center),
        scale=tuple(float(v) for v in m.scale), pair_weights=tuple(float(v) for v in m.w), pair_bias=m.b,
        pair_thresholds=pair_t, aggregate=AGGREGATE, summary_weights=tuple(float(v) for v in m.v),
        summary_bias=m.c, summary_thresholds=sum_t, common_words=common_words(), provenance=provenance)
    return cal, cv


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=Path("models/default"))
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--work", type=Path, default=Path("build/calibrate"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1, help="seed of the calibration set")
    a = p.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    inputs = a.work / f"calibration-set-{a.seed}.jsonl"
    rows = calibration_set.build(read_jsonl(a.data / "corpus" / "articles.jsonl"), seed=a.seed)
    if not inputs.is_file() or inputs.read_text(encoding="utf-8") != jsonl_text(rows):
        write_jsonl(rows, inputs)
    digest = load_bundle(a.model, verify=False).digest
    details = a.work / f"scored-{digest[:12]}-{a.seed}.jsonl"
    score_set(a.model, inputs, details, a.workers, a.threads)
    cal, cv = calibrate(a.model, details, inputs)
    path = write_calibration(cal, a.model)
    print(json.dumps(cv, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
