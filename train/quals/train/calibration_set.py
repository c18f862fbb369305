"""The data the verdict calibration is fitted on: summaries of held-out pool articles, right and wrong.

Never a development benchmark and never trained on: the articles are the held-out tenth of the pool
(`data.is_held_out`), the same documents whose leads make the synthetic check, so every figure of the
synthetic check that involves a fitted calibration is cross-validated over folds of documents
(`quals.train.calibrate`), never fitted and measured on one document. Per document (seeded):

- `lead`: the lead (first sentence, or two when the first is short), label 1;
- `sentence`: one of the next four sentences, label 1;
- `lead-swap`, `sentence-swap`: the same with one name, number or date replaced by one of the same kind that
  the source never mentions (`synthetic.plant_swap`), label 0, with `planted` = [start, end] of the replacement;
- `foreign`: the lead of another held-out article, label 0 (a summary of a different text).

Written as `{id, doc, kind, source, summary, label, planted}` JSONL; `quals score --details` reads it as is.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from .data import is_held_out, read_jsonl, split_sentences, write_jsonl
from .synthetic import entity_pool, lead_of, plant_swap


def build(articles: list[dict], *, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    docs = [d for d in articles if is_held_out(d["id"])]
    pool = entity_pool(docs)
    usable = [(d, split_sentences(d["text"])) for d in docs]
    usable = [(d, s) for d, s in usable if len(s) >= 4]
    leads = [lead_of(s) for _, s in usable]
    out = []
    for i, (d, sents) in enumerate(usable):
        lead = leads[i]
        rest = [s for s in sents[1:5] if s not in lead and len(s.split()) >= 6]
        summaries: list[tuple[str, str, int, list[int] | None]] = [("lead", lead, 1, None)]
        if rest:
            summaries.append(("sentence", rng.choice(rest), 1, None))
        for kind, text, _, _ in list(summaries):
            swapped = plant_swap(text, d["text"], pool, rng)
            if swapped is not None:
                summaries.append((f"{kind}-swap", swapped[0], 0, list(swapped[2])))
        other = rng.choice([j for j in range(len(usable)) if j != i])
        summaries.append(("foreign", leads[other], 0, None))
        for kind, text, label, planted in summaries:
            out.append({"id": f"{d['id']}-{kind}", "doc": d["id"], "kind": kind, "source": d["text"],
                        "summary": text, "label": label, "planted": planted})
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.calibration_set", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, default=Path("build/verdicts/calibration-set.jsonl"))
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rows = build(read_jsonl(a.data / "corpus" / "articles.jsonl"), seed=a.seed)
    write_jsonl(rows, a.out)
    docs = len({r["doc"] for r in rows})
    print(f"{a.out}: {len(rows)} records on {docs} documents")


if __name__ == "__main__":
    main()
