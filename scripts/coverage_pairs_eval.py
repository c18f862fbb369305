"""Would coverage pairs help? A measurement before any design is fixed (issue 34).

    python scripts/coverage_pairs_eval.py [--model BUNDLE] [--limit N] [--lower] [--json OUT]

On the synthetic check (a held-out pool article's lead, label 1, and the same lead with one name, number or
date swapped for one the source never mentions, label 0), every summary is scored as today, then each of its
facts (quals.facts) that no selected pair asks about gets a cloze pair of its own (its sentence with the fact
replaced by a wh-word, the training data's cloze form; answer = the fact), teacher-forced on the source and on
the summary. Scores compared, each as pooled ROC-AUC over all records and paired accuracy (lead above its
swap):
- paper / clean: today's variants;
- clean+cover: the clean mean over the selected pairs and the coverage pairs;
- min: the lowest clean term over both (the weakest fact decides);
- cover-min: the lowest term over the coverage pairs only (None -> the clean mean).
Nothing here is shipped: it decides what the verdict mode is built on.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from quals import Scorer
from quals.coverage import CLOZE_KIND, sentence_of
from quals.facts import covers, find_facts

ROOT = Path(__file__).resolve().parent.parent
def cloze_pairs(scorer: Scorer, summary: str, facts) -> list[tuple[list[int], str, str]]:
    from quals.cloze import cloze_question

    m = scorer.manifest
    out = []
    for f in facts:
        lo, hi = sentence_of(summary, f.start, f.end)
        q = cloze_question(summary[lo:hi], f.start - lo, f.end - lo, CLOZE_KIND[f.kind])
        if q is None:
            continue
        out.append((scorer.codec.qa_target(q, f.text, m.separator.id), q, f.text))
    return out


def auc(pos: list[float], neg: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--limit", type=int, default=None, help="Documents (each: lead + swap).")
    ap.add_argument("--lower", action="store_true", help="Lower-case sources and summaries (as Goyal21).")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    from quals.train.synthetic import build

    articles = [json.loads(x) for x in (args.data / "corpus" / "articles.jsonl").read_text(
        encoding="utf-8").splitlines() if x.strip()]
    recs = build(articles)[: 2 * args.limit if args.limit else None]
    scorer = Scorer.load(args.model, threads=args.threads)
    eng = scorer.engine
    rows = []
    for r in recs:
        src, summ = (r["source"].lower(), r["summary"].lower()) if args.lower else (r["source"], r["summary"])
        t = scorer.trace(src, summ)
        res = t.result
        if res.status == "error":
            continue
        facts = [f for f in find_facts(t.summary) if not any(covers(p.answer, f) for p in res.pairs)]
        pairs = cloze_pairs(scorer, t.summary, facts)
        cover_terms = []
        if pairs:
            targets = [p[0] for p in pairs]
            lp_sum = eng.teacher_forced(eng.encode(t.summary_encoded.ids), targets)
            lp_src = eng.teacher_forced(eng.encode(t.source_encoded.ids), targets)
            cover_terms = [float(a.mean() - b.mean()) for a, b in zip(lp_src, lp_sum)]
        clean_terms = [p.value_for("clean") for p in res.pairs]
        both = clean_terms + cover_terms
        rows.append({"id": r["id"], "label": r["label"],
                     "paper": res.quals, "clean": float(np.mean(clean_terms)) if clean_terms else None,
                     "clean+cover": float(np.mean(both)) if both else None,
                     "min": min(both) if both else None,
                     "cover-min": min(cover_terms) if cover_terms else (float(np.mean(clean_terms))
                                                                        if clean_terms else None),
                     "n_pairs": len(clean_terms), "n_cover": len(cover_terms),
                     "cover": [p[1] + " -> " + p[2] for p in pairs]})
    report = {"signature": scorer.signature(), "lower": args.lower, "records": len(rows), "scores": {}}
    doc = {}
    for row in rows:
        doc.setdefault(row["id"].rsplit("-lead", 1)[0].rsplit("-swap-", 1)[0], {})[row["label"]] = row
    n_cover, n_pairs = np.mean([r["n_cover"] for r in rows]), np.mean([r["n_pairs"] for r in rows])
    print(f"synthetic check{' (lower-cased)' if args.lower else ''}: {len(rows)} records, mean coverage pairs per "
          f"summary {n_cover:.2f} (selected pairs {n_pairs:.1f})")
    print("| score | pooled ROC-AUC | paired accuracy | records with a score |")
    print("|---|---|---|---|")
    for key in ("paper", "clean", "clean+cover", "min", "cover-min"):
        pos = [r[key] for r in rows if r["label"] == 1 and r[key] is not None]
        neg = [r[key] for r in rows if r["label"] == 0 and r[key] is not None]
        pairs = [(d[1][key], d[0][key]) for d in doc.values() if 0 in d and 1 in d
                 and d[0][key] is not None and d[1][key] is not None]
        paired = np.mean([(a > b) + 0.5 * (a == b) for a, b in pairs]) if pairs else float("nan")
        report["scores"][key] = {"auc": auc(pos, neg), "paired": float(paired), "n": len(pos) + len(neg)}
        print(f"| {key} | {auc(pos, neg):.3f} | {paired:.1%} | {len(pos) + len(neg)} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({**report, "rows": rows}, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
