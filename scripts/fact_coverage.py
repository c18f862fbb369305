"""How often the generated QA pairs ask about a summary's facts (issue 34's coverage, before anything closes it).

    python scripts/fact_coverage.py [--model BUNDLE] [--data ../shared/data] [--sets synthetic,goyal21] [--limit N]

For each summary: its facts (quals.facts: names, numbers, dates) and the selected pairs of the default search;
a fact is covered when a pair's answer shares a word with it (quals.facts.covers). On the synthetic check (the
lead of a held-out pool article with one name, number or date swapped for one the source never mentions):
whether the planted fact is covered, with capitals and lower-cased (as Goyal21 writes). On a development set:
the share of all facts covered. Prints a table and writes --json.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from quals import Scorer
from quals.facts import covers, find_facts

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--sets", default="synthetic")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    scorer = Scorer.load(args.model, threads=args.threads)
    report: dict = {"signature": scorer.signature()}
    for name in args.sets.split(","):
        if name == "synthetic":
            from quals.train.synthetic import build, planted_span

            articles = [json.loads(x) for x in (args.data / "corpus" / "articles.jsonl").read_text(
                encoding="utf-8").splitlines() if x.strip()]
            recs = build(articles)
            leads = {r["id"].rsplit("-lead", 1)[0]: r["summary"] for r in recs if r["label"] == 1}
            negs = [r for r in recs if r["label"] == 0][: args.limit]
            rows: dict[str, Counter] = {}
            for case in ("cased", "lower"):
                c = Counter()
                for r in negs:
                    neg = r["summary"] if case == "cased" else r["summary"].lower()
                    src = r["source"] if case == "cased" else r["source"].lower()
                    s, e = planted_span(leads[r["id"].rsplit("-swap-", 1)[0]], r["summary"])
                    kind = r["id"].rsplit("-swap-", 1)[1]
                    facts = [f for f in find_facts(neg) if f.start < e and s < f.end]
                    result = scorer.score_one(src, neg)
                    answers = [p.answer for p in result.pairs]
                    c[f"{kind}/n"] += 1
                    c[f"{kind}/detected"] += bool(facts)
                    c[f"{kind}/covered"] += any(covers(a, f) for f in facts for a in answers)
                    all_facts = find_facts(neg)
                    c["facts"] += len(all_facts)
                    c["facts_covered"] += sum(any(covers(a, f) for a in answers) for f in all_facts)
                rows[case] = c
            report[name] = {case: dict(c) for case, c in rows.items()}
            print(f"synthetic check, {len(negs)} swapped summaries: planted fact detected / covered by a pair")
            print("| case | kind | n | detected | covered |")
            print("|---|---|---|---|---|")
            for case, c in rows.items():
                for kind in ("name", "quantity", "date"):
                    n = c[f"{kind}/n"]
                    if n:
                        print(f"| {case} | {kind} | {n} | {c[f'{kind}/detected'] / n:.0%} | "
                              f"{c[f'{kind}/covered'] / n:.0%} |")
                n = sum(c[f"{k}/n"] for k in ("name", "quantity", "date"))
                cov = sum(c[f"{k}/covered"] for k in ("name", "quantity", "date"))
                print(f"| {case} | all | {n} | {sum(c[f'{k}/detected'] for k in ('name', 'quantity', 'date')) / n:.0%}"
                      f" | {cov / n:.0%} |")
                share = c["facts_covered"] / c["facts"]
                print(f"| {case} | every fact of the summaries | {c['facts']} | | {share:.0%} |")
        else:
            path = args.data / "eval" / f"{name}.jsonl"
            recs = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()][: args.limit]
            c = Counter()
            for r in recs:
                facts = find_facts(r["summary"])
                answers = [p.answer for p in scorer.score_one(r["source"], r["summary"]).pairs]
                c["summaries"] += 1
                c["facts"] += len(facts)
                c["covered"] += sum(any(covers(a, f) for a in answers) for f in facts)
                c["all_covered"] += all(any(covers(a, f) for a in answers) for f in facts)
            report[name] = dict(c)
            print(f"{name}: {c['summaries']} summaries, {c['facts']} facts, {c['covered'] / max(1, c['facts']):.0%} "
                  f"covered by a pair; every fact covered in {c['all_covered'] / c['summaries']:.0%} of the summaries")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
