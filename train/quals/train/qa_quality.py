"""QA-generation quality of a bundle on held-out SQuAD-style data (XQuAD-en or SQuAD 1.1 dev: never trained on).

- span rate: of the generated hypotheses that split into question and answer, the fraction whose answer
  is a span of the context (what QUALS keeps), with the bundle's default (the authors') search;
- gold NLL: mean per-token negative log-likelihood of the gold (question, separator, answer, EOS) given
  the context, teacher-forced;
- samples: the best-scoring generated pairs of a few contexts, for reading.
Runs on the runtime only (no torch).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
from quals import Scorer
from quals.qa import answer_in_summary, parse

from .data import answer_texts, read_jsonl


def measure(scorer: Scorer, rows: list[dict], *, n_contexts: int, n_samples: int, seed: int,
            gold_contexts: int | None = None) -> dict:
    """gold_contexts: teacher-force the gold pairs of a seeded sample of this many contexts (None: all)."""
    m, codec, engine = scorer.manifest, scorer.codec, scorer.engine
    by_ctx: dict[str, list[dict]] = {}
    for r in rows:
        by_ctx.setdefault(r["context"], []).append(r)
    gold_ctx = list(by_ctx)
    if gold_contexts is not None and gold_contexts < len(gold_ctx):
        gold_ctx = random.Random(seed + 1).sample(sorted(gold_ctx), gold_contexts)
    nll_sum, nll_tokens, n_gold = 0.0, 0, 0
    for ctx in gold_ctx:
        items = by_ctx[ctx]
        n_gold += len(items)
        enc = engine.encode(codec.encode(ctx.strip()).ids)
        targets = [codec.qa_target(r["question"], answer_texts(r)[0], m.separator.id) for r in items]
        for lp in engine.teacher_forced(enc, targets):
            nll_sum -= float(np.sum(lp))
            nll_tokens += len(lp)
    contexts = random.Random(seed).sample(sorted(by_ctx), min(n_contexts, len(by_ctx)))
    n_split, n_span, samples = 0, 0, []
    for i, ctx in enumerate(contexts):
        hyps = scorer.generate(ctx)
        pairs = [p for p in (parse(h, sep_id=m.separator.id, eos_id=m.tokens.eos, decode=codec.decode)
                             for h in hyps) if p is not None]
        view = codec.roundtrip(ctx.strip())
        ok = [p for p in pairs if p.answer.strip() and answer_in_summary(p.answer, ctx, view)]
        n_split += len(pairs)
        n_span += len(ok)
        if i < n_samples:
            best = max(ok or pairs, key=lambda p: p.hypothesis.score, default=None)
            gold = by_ctx[ctx][0]
            samples.append({"context": ctx[:300], "question": best.question if best else None,
                            "answer": best.answer if best else None, "gold_question": gold["question"],
                            "gold_answer": answer_texts(gold)[0]})
    return {
        "n_gold_pairs": n_gold,
        "gold_nll_per_token": nll_sum / max(1, nll_tokens),
        "n_contexts_generated": len(contexts),
        "n_hypotheses_with_split": n_split,
        "span_rate": n_span / max(1, n_split),
        "samples": samples,
        "signature": scorer.signature(),
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.qa_quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=Path("models/default"))
    p.add_argument("--data", type=Path, default=Path("../shared/data/qa/xquad_en/squad_like.jsonl"))
    p.add_argument("--contexts", type=int, default=40, help="contexts to run the search on")
    p.add_argument("--samples", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gold-contexts", type=int, default=None,
                   help="gold NLL over a seeded sample of this many contexts (default: every context)")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    rows = read_jsonl(a.data)
    out = measure(Scorer.load(a.model), rows, n_contexts=a.contexts, n_samples=a.samples, seed=a.seed,
                  gold_contexts=a.gold_contexts)
    print_report(out, a.json)


def print_report(doc: dict, path: Path | None) -> None:
    """A measurement's JSON on stdout, and in `path` when given (its folder made)."""
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
