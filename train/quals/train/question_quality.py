"""How the selected questions read: copied from the summary, or asked about it.

python -m quals.train.question_quality --model BUNDLE [--data ../shared/data] [--per-set 50] [--json OUT]

On a seeded sample of development summaries (the summaries only: no label is read), the pairs QUALS selects
(Scorer.trace, the bundle's default search) are measured:
- copied: the longest run of consecutive words that the question shares with the summary covers at least
  COPY_SHARE of the question's words (lower-cased, punctuation split off): the question restates the summary
  with a wh-word in it ("what near valparaiso in central chile cut power to about 200, 000 homes?");
- asks: the question starts with a question word or an auxiliary (QUESTION_STARTS);
- gives its answer: the answer's words (punctuation dropped) stand as a run in the question ("no deaths were
  reported in valparaiso? -> valparaiso"): the answer is read off the question, so the pair no longer checks
  the answer against the source (QUALS still scores the question's own words under the source, which is what a
  copied question contributes). A copied question need not give its answer ("who cut power to about 200, 000
  homes?" copies the summary around the answer it asks for);
- samples: the first selected pair of SAMPLES summaries, drawn from the summaries alone (the same summaries
  for every model measured with the same seed).
Runs on the runtime only (no torch).
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from quals import Scorer

from .data import read_jsonl
from .qa_quality import print_report

COPY_SHARE = 0.8
QUESTION_STARTS = frozenset(
    "what who whom whose which when where why how is are was were do does did can could will would shall should "
    "has have had may might must am".split())
SETS = ("summeval", "polytope", "goyal21", "gofigure")
SAMPLES = 10
_WORD = re.compile(r"\w+|[^\w\s]")
_WORD_CHAR = re.compile(r"\w")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def longest_common_run(a: list[str], b: list[str]) -> int:
    """Length of the longest run of consecutive items found in both lists."""
    best, prev = 0, [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def is_copied(question: str, summary: str, share: float = COPY_SHARE) -> bool:
    q = [w for w in words(question) if w != "?"]
    return bool(q) and longest_common_run(q, words(summary)) >= share * len(q)


def gives_answer(question: str, answer: str) -> bool:
    """The answer's words are a run of consecutive words of the question (punctuation dropped from both: the
    models' tokenizers split "200,000" into "200 , 000")."""
    a, q = ([w for w in words(text) if _WORD_CHAR.match(w)] for text in (answer, question))
    return bool(a) and longest_common_run(a, q) == len(a)


def asks(question: str) -> bool:
    w = words(question)
    return bool(w) and w[0] in QUESTION_STARTS


def measure(scorer: Scorer, summaries: list[tuple[str, str]], seed: int = 0) -> dict:
    """summaries: (set name, summary). Each summary scored against itself (only the selected pairs are read).

    The samples are the first selected pair of SAMPLES summaries drawn by `seed` from `summaries` alone, so two
    models measured on the same summaries show their pairs for the same ones (the card puts them side by side).
    """
    chosen = set(random.Random(seed).sample(range(len(summaries)), min(SAMPLES, len(summaries))))
    per_set: dict[str, dict[str, int]] = {}
    samples = []
    for i, (name, summary) in enumerate(summaries):
        trace = scorer.trace(summary, summary)
        stats = per_set.setdefault(name, {"summaries": 0, "pairs": 0, "copied": 0, "asks": 0, "gives_answer": 0})
        stats["summaries"] += 1
        reads = [{"copied": is_copied(p.question, summary), "asks": asks(p.question),
                  "gives_answer": gives_answer(p.question, p.answer)} for p in trace.selected]
        stats["pairs"] += len(reads)
        for k in ("copied", "asks", "gives_answer"):
            stats[k] += sum(r[k] for r in reads)
        if i in chosen:
            p = trace.selected[0] if trace.selected else None
            samples.append({"set": name, "summary": summary, "question": None} if p is None else
                           {"set": name, "summary": summary, "question": p.question, "answer": p.answer,
                            "copied": reads[0]["copied"], "gives_answer": reads[0]["gives_answer"]})
    n_pairs = sum(v["pairs"] for v in per_set.values())
    return {"summaries": len(summaries), "pairs": n_pairs,
            "copied_share": sum(v["copied"] for v in per_set.values()) / max(1, n_pairs),
            "asks_share": sum(v["asks"] for v in per_set.values()) / max(1, n_pairs),
            "gives_answer_share": sum(v["gives_answer"] for v in per_set.values()) / max(1, n_pairs),
            "per_set": per_set,
            "copy_share_rule": COPY_SHARE, "samples": samples, "signature": scorer.signature()}


def development_summaries(data: Path, per_set: int, seed: int) -> list[tuple[str, str]]:
    out = []
    for name in SETS:
        summaries = sorted({r["summary"].strip() for r in read_jsonl(data / "eval" / f"{name}.jsonl")
                            if r["summary"].strip()})
        out += [(name, s) for s in random.Random(f"{seed}:{name}").sample(summaries, min(per_set, len(summaries)))]
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.question_quality", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=None, help="bundle (default: the shipped model)")
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--per-set", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    out = measure(Scorer.load(a.model), development_summaries(a.data, a.per_set, a.seed), seed=a.seed)
    print_report(out, a.json)


if __name__ == "__main__":
    main()
