"""Which per-pair values separate supported from unsupported facts? A measurement for the verdict mode (issue 34).

    python scripts/verdict_features.py [--dir build/verdicts] [--model models/default]

Reads `quals score --details --drop-text` outputs (DIR/NAME.details.jsonl) of the calibration set
(`python -m quals.train.calibration_set`), the synthetic check and the development sets, with their inputs
for the source texts, and prints, per candidate feature and per candidate summary aggregate, the pooled
ROC-AUC on every set. The calibration set's figures are cross-validated over folds of documents; every other
set is scored by a model fitted on the whole calibration set only. Nothing here is shipped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from quals.tasks.metrics import roc_auc
from quals.train.calibrate import Evidence, fit_logistic, pair_label
from quals.verdict import FEATURES

ROOT = Path(__file__).resolve().parent.parent
INPUTS = {"calibration-set": "build/verdicts/calibration-set.jsonl", "synthetic": "build/eval/synthetic.jsonl",
          "summeval": "../shared/data/eval/summeval.jsonl", "polytope": "../shared/data/eval/polytope.jsonl",
          "gofigure": "../shared/data/eval/gofigure.jsonl", "goyal21": "../shared/data/eval/goyal21.jsonl"}


class Features:
    """Every feature of quals.verdict for each pair (selected and coverage) of a details record, read as the
    Scorer reads them (quals.train.calibrate.Evidence), with `question`, `answer` and `coverage`."""

    def __init__(self, model: Path, coverage: bool = True):
        self.evidence = Evidence(model)
        self.coverage = coverage

    def pairs(self, rec: dict, source: str, summary: str) -> list[dict]:
        src = self.evidence.source(source)
        out = []
        both = [(p, False) for p in rec.get("pairs") or []]
        if self.coverage:
            both += [(p, True) for p in rec.get("coverage_pairs") or []]
        for p, is_cov in both:
            ev = self.evidence.of(p, src, is_cov)
            f = {name: fn(ev) for name, fn in FEATURES.items()}
            f["question"], f["answer"], f["coverage"] = p["question"], p["answer"], is_cov
            out.append(f)
        return out


def load(dirpath: Path, name: str, feats: Features) -> list[dict]:
    inputs = {}
    with open(ROOT / INPUTS[name], encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            inputs[str(r.get("id"))] = r
    recs = []
    with open(dirpath / f"{name}.details.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            src = inputs[str(r.get("id"))]
            r["pair_features"] = feats.pairs(r, src["source"].strip(), src["summary"].strip())
            r["doc"] = src.get("doc") or str(r["id"]).rsplit("-lead", 1)[0].rsplit("-swap-", 1)[0]
            r["kind"] = src.get("kind")
            for pf in r["pair_features"]:
                pf["label"] = pair_label(pf, src["summary"].strip(), src.get("planted"),
                                         int(float(r["label"]) >= 0.5))
            recs.append(r)
    return recs


FEATURE_SETS = {
    "pair_diff": ["pair_diff"],
    "answer_diff": ["answer_diff"],
    "ans": ["answer_diff", "answer_source"],
    "ans+lex": ["answer_diff", "answer_source", "answer_in_source"],
    "ans+words": ["answer_diff", "answer_source", "answer_words_in_source"],
    "ans+lex+words": ["answer_diff", "answer_source", "answer_in_source", "answer_words_in_source"],
    "all": list(FEATURES),
    "ans+q+lex": ["answer_diff", "answer_source", "question_diff", "answer_in_source", "answer_words_in_source"],
    "diff+lex": ["answer_diff", "pair_diff", "answer_in_source", "answer_words_in_source"],
    "lex only": ["answer_in_source", "answer_words_in_source"],
    "paper": ["paper_term"],
    "paper+q+lex": ["paper_term", "question_diff", "answer_in_source"],
    "clean+q+a": ["pair_diff", "question_diff", "answer_diff"],
    "clean+q+a+lex": ["pair_diff", "question_diff", "answer_diff", "answer_in_source"],
    "clean+paper+lex": ["pair_diff", "paper_term", "answer_in_source"],
}
AGGREGATES = {
    "min": lambda z: np.array([z.min()]),
    "mean": lambda z: np.array([z.mean()]),
    "softmin": lambda z: np.array([-np.log(np.exp(-z).sum())]),
    "min+mean": lambda z: np.array([z.min(), z.mean()]),
}


def matrix(recs: list[dict], names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, pair labels, record index) over every pair of `recs`."""
    rows, labels, owner = [], [], []
    for i, r in enumerate(recs):
        for f in r["pair_features"]:
            rows.append([f[n] for n in names])
            labels.append(f["label"])
            owner.append(i)
    return np.asarray(rows, dtype=float).reshape(-1, len(names)), np.asarray(labels), np.asarray(owner)


def summary_inputs(recs: list[dict], z: np.ndarray, owner: np.ndarray, agg) -> tuple[np.ndarray, np.ndarray]:
    keep = [i for i, r in enumerate(recs) if (owner == i).any()]
    x = np.stack([agg(z[owner == i]) for i in keep])
    return x, np.asarray(keep)


class Model:
    """Per-pair logistic on standardised features, then a logistic on an aggregate of the pair logits."""

    def __init__(self, names: list[str], agg: str):
        self.names, self.agg = names, agg

    def fit(self, recs: list[dict]) -> Model:
        x, y, owner = matrix(recs, self.names)
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-9
        self.w, self.b = fit_logistic((x - self.mu) / self.sd, y.astype(float))
        z = ((x - self.mu) / self.sd) @ self.w + self.b
        xs, keep = summary_inputs(recs, z, owner, AGGREGATES[self.agg])
        ys = np.asarray([int(float(recs[i]["label"]) >= 0.5) for i in keep], dtype=float)
        self.v, self.c = fit_logistic(xs, ys)
        return self

    def pair_logits(self, recs: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        x, _, owner = matrix(recs, self.names)
        return ((x - self.mu) / self.sd) @ self.w + self.b, owner

    def p_consistent(self, recs: list[dict]) -> np.ndarray:
        """One probability per record; NaN where a record has no pair."""
        z, owner = self.pair_logits(recs)
        out = np.full(len(recs), np.nan)
        if len(z):
            xs, keep = summary_inputs(recs, z, owner, AGGREGATES[self.agg])
            out[keep] = 1 / (1 + np.exp(-(xs @ self.v + self.c)))
        return out


def cv_predict(cal: list[dict], target: list[dict], names: list[str], agg: str, k: int = 5) -> np.ndarray:
    """p_consistent of each target record from a model fitted on the calibration records of the other folds
    (folds of documents shared by both sets)."""
    docs = sorted({r["doc"] for r in cal} | {r["doc"] for r in target})
    rng = np.random.default_rng(0)
    fold = {d: i % k for i, d in enumerate(rng.permutation(docs))}
    out = np.full(len(target), np.nan)
    for f in range(k):
        train = [r for r in cal if fold[r["doc"]] != f]
        test_idx = [i for i, r in enumerate(target) if fold[r["doc"]] == f]
        if not test_idx:
            continue
        m = Model(names, agg).fit(train)
        out[test_idx] = m.p_consistent([target[i] for i in test_idx])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=ROOT / "build/verdicts")
    ap.add_argument("--model", type=Path, default=ROOT / "models/default")
    ap.add_argument("--sets", default=",".join(INPUTS))
    ap.add_argument("--focus", action="append", default=[], help="FEATURE_SET:AGGREGATE, repeatable")
    ap.add_argument("--no-coverage", action="store_true", help="leave the coverage pairs out")
    ap.add_argument("--kinds", default=None, help="calibration-set kinds to fit on (comma-separated; default all)")
    a = ap.parse_args()
    feats = Features(a.model, coverage=not a.no_coverage)
    data = {n: load(a.dir, n, feats) for n in a.sets.split(",") if (a.dir / f"{n}.details.jsonl").is_file()}
    if a.kinds:
        data["calibration-set"] = [r for r in data["calibration-set"] if r["kind"] in a.kinds.split(",")]
    cal = data["calibration-set"]
    x_all = {}
    print("== single features, pair level (calibration set; AUC of the feature for supported vs unsupported)")
    for name in FEATURES:
        x, y, _ = matrix(cal, [name])
        x_all[name] = x
        print(f"  {name:14s} {roc_auc(x[:, 0], y):.3f}   (pairs {len(y)}, unsupported {(y == 0).sum()})")
    print("== summary level: pooled ROC-AUC of p_consistent (calibration set and synthetic: 5-fold CV by document)")
    header = f"  {'features':16s} {'agg':9s} " + " ".join(f"{n[:10]:>10s}" for n in data)
    print(header)
    for fs, names in FEATURE_SETS.items():
        for agg in AGGREGATES:
            row = []
            for n, recs in data.items():
                y = np.asarray([int(float(r["label"]) >= 0.5) for r in recs])
                if n in ("calibration-set", "synthetic"):
                    p = cv_predict(cal, recs, names, agg)
                else:
                    p = Model(names, agg).fit(cal).p_consistent(recs)
                ok = ~np.isnan(p)
                row.append(roc_auc(p[ok], y[ok]))
            print(f"  {fs:16s} {agg:9s} " + " ".join(f"{v:10.3f}" for v in row))
    print("== baselines: the record's quals (paper), and means of raw terms over the selected pairs")
    for term in ("quals", "pair_diff", "answer_diff"):
        row = []
        for recs in data.values():
            y = np.asarray([int(float(r["label"]) >= 0.5) for r in recs])
            s = np.asarray([baseline(r, term) for r in recs])
            ok = ~np.isnan(s)
            row.append(roc_auc(s[ok], y[ok]))
        print(f"  {term:26s} " + " ".join(f"{v:10.3f}" for v in row))
    for spec in a.focus:
        names, agg = FEATURE_SETS[spec.split(":")[0]], spec.split(":")[1]
        focus(data, cal, names, agg, spec)
    if "synthetic" in data:
        planted_coverage(data["synthetic"])


def planted_coverage(recs: list[dict]) -> None:
    """How many planted swaps of the synthetic check a pair asks about: the selected pairs alone, and with the
    coverage pairs (quals.facts.covers: the answer shares a word with the planted text)."""
    from quals.facts import Fact, covers, find_facts
    from quals.train.synthetic import planted_span

    inputs = {str(r["id"]): r for r in map(json.loads, open(ROOT / INPUTS["synthetic"], encoding="utf-8"))}
    leads = {i.rsplit("-lead", 1)[0]: r["summary"] for i, r in inputs.items() if i.endswith("-lead")}
    sel = both = n = 0
    for r in recs:
        if not r["id"].rsplit("-", 1)[0].endswith("-swap") and "-swap-" not in r["id"]:
            continue
        summary = inputs[r["id"]]["summary"]
        a, b = planted_span(leads[r["id"].rsplit("-swap-", 1)[0]], summary)
        # the planted text as a fact: the found facts it overlaps ("enderson" of Henderson -> "Henderson")
        found = [f for f in find_facts(summary) if f.start < b and a < f.end]
        a, b = min([a, *(f.start for f in found)]), max([b, *(f.end for f in found)])
        fact = Fact(a, b, "name", summary[a:b])
        n += 1
        s_hit = any(covers(f["answer"], fact) for f in r["pair_features"] if not f["coverage"])
        sel += s_hit
        both += s_hit or any(covers(f["answer"], fact) for f in r["pair_features"] if f["coverage"])
    print(f"== planted swaps asked about (synthetic, {n} swapped summaries): selected pairs {sel / n:.3f}, "
          f"with coverage pairs {both / n:.3f}")


def baseline(r: dict, term: str) -> float:
    if term == "quals":
        return np.nan if r["quals"] is None else float(r["quals"])
    sel = [f[term] for f in r["pair_features"] if not f["coverage"]]
    return float(np.mean(sel)) if sel else np.nan


def focus(data: dict, cal: list[dict], names: list[str], agg: str, spec: str, n_boot: int = 1000) -> None:
    """One configuration against the paper score, per set: pooled ROC-AUC of each and the paired bootstrap
    interval of the difference (records resampled together), and on the synthetic check the paired accuracy."""
    print(f"== {spec}: p_consistent vs quals (paper); AUC difference with a 95% paired bootstrap interval")
    rng = np.random.default_rng(0)
    for n, recs in data.items():
        y = np.asarray([int(float(r["label"]) >= 0.5) for r in recs])
        p = cv_predict(cal, recs, names, agg) if n in ("calibration-set", "synthetic") else \
            Model(names, agg).fit(cal).p_consistent(recs)
        q = np.asarray([baseline(r, "quals") for r in recs])
        ok = ~np.isnan(p) & ~np.isnan(q)
        y, p, q = y[ok], p[ok], q[ok]
        diffs = []
        for _ in range(n_boot):
            i = rng.integers(0, len(y), len(y))
            if 0 < y[i].sum() < len(i):
                diffs.append(roc_auc(p[i], y[i]) - roc_auc(q[i], y[i]))
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        line = f"  {n:16s} n={len(y):4d}  p_consistent {roc_auc(p, y):.3f}  paper {roc_auc(q, y):.3f}  diff " \
               f"{roc_auc(p, y) - roc_auc(q, y):+.3f} [{lo:+.3f}, {hi:+.3f}]"
        if n == "synthetic":
            ids = [r["id"] for r, k in zip(recs, ok) if k]
            line += f"  paired: p {paired(ids, p):.3f}, paper {paired(ids, q):.3f}"
        print(line)


def paired(ids: list[str], s: np.ndarray) -> float:
    """Share of documents whose lead scores above its swap (ties half)."""
    by: dict[str, dict[str, float]] = {}
    for i, v in zip(ids, s):
        doc, kind = (i.rsplit("-lead", 1)[0], "lead") if i.endswith("-lead") else (i.rsplit("-swap-", 1)[0], "swap")
        by.setdefault(doc, {})[kind] = v
    wins = [1.0 if d["lead"] > d["swap"] else 0.5 if d["lead"] == d["swap"] else 0.0
            for d in by.values() if len(d) == 2]
    return float(np.mean(wins))


if __name__ == "__main__":
    main()
