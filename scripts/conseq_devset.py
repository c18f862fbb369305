"""A small real ConSeq input from a human-judged development set: per source, a consistent summary
(label 1) as the reference and the other system summaries as the candidates.

    python scripts/conseq_devset.py ../shared/data/eval/summeval.jsonl build/conseq/summeval.jsonl --docs 20

SummEval has 8-9 system summaries per CNN/DM article, so each document gets up to `--candidates`
candidates, both consistent and inconsistent ones (their labels are kept, for checking what S- picked).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def build(path: Path, n_docs: int, n_cands: int) -> list[dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if line.strip():
            r = json.loads(line)
            groups[r["source"]].append(r)
    docs = []
    for source, recs in groups.items():
        refs = [r for r in recs if r["label"] == 1]
        if not refs or len(recs) < 2:
            continue
        ref, others = refs[0], [r for r in recs if r is not refs[0]][:n_cands]
        docs.append({"id": ref.get("cnndm_id") or ref["id"], "source": source, "reference": ref["summary"],
                     "candidates": [r["summary"] for r in others],
                     "candidate_labels": [r["label"] for r in others]})
        if len(docs) == n_docs:
            break
    return docs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmark", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--docs", type=int, default=20)
    p.add_argument("--candidates", type=int, default=4)
    a = p.parse_args()
    docs = build(a.benchmark, a.docs, a.candidates)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    print(f"{a.out}: {len(docs)} documents, {sum(len(d['candidates']) for d in docs)} candidates")


if __name__ == "__main__":
    main()
