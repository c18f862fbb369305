"""Build runtime/quals/common_words.txt: English words that public text writes in lower case.

    python scripts/build_common_words.py [--data ../shared/data] [--size 20000]

quals.facts finds names in text without capitals (Goyal21's summaries are all lower case) as runs of words
that are *not* common English words, so it needs that list without spaCy. Counted over the project's public
text (../shared/data: the article pool, SQuAD 1.1 train, SQuADShifts' new Wikipedia, FairytaleQA train; never
an evaluation set), every alphabetic word form; a word is common when it occurs at least --min-count times and is
capitalised in at most --max-capitalised of its occurrences that do not start a sentence (a name is written
with a capital nearly every time: "paris" is out, "bridge" is in). The --size most frequent such words are
written, one per line, most frequent first. Deterministic for the same data.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
SENTENCE_END = re.compile(r"[.!?:;\"“”'‘’()\[\]\-–—]\s*$")
# Edited text only: Reddit posts and Amazon reviews (SQuADShifts) often write names in lower case ("obama").
SOURCES = ("corpus/articles.jsonl", "qa/squad11/train.squad_like.jsonl.gz",
           "qa/squadshifts/new_wiki.squad_like.jsonl.gz", "qa/fairytaleqa/train.squad_like.jsonl")


def texts(data: Path):
    """Each distinct text of the sources (a paragraph shared by several questions once)."""
    seen: set[int] = set()
    for rel in SOURCES:
        path = data / rel
        if not path.is_file():
            raise SystemExit(f"{path} is missing (point --data at the shared data folder)")
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                text = rec.get("text") or rec.get("context") or ""
                if not any(ch.isupper() for ch in text):
                    continue  # lower-cased text (part of the pool is) says nothing about capitals
                h = hash(text)
                if h not in seen:
                    seen.add(h)
                    yield text


def count(data: Path) -> tuple[Counter, Counter]:
    total, capitalised = Counter(), Counter()
    for text in texts(data):
        for m in WORD.finditer(text):
            word = m.group()
            lower = word.lower()
            before = text[max(0, m.start() - 3):m.start()]
            if m.start() == 0 or SENTENCE_END.search(before) or "\n" in before:
                continue  # a sentence's first word is capitalised whatever it is
            total[lower] += 1
            capitalised[lower] += word[0].isupper()
    return total, capitalised


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--size", type=int, default=20_000)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--max-capitalised", type=float, default=0.8)
    ap.add_argument("--out", type=Path, default=ROOT / "runtime" / "quals" / "common_words.txt")
    args = ap.parse_args()
    total, capitalised = count(args.data)
    common = [w for w, n in total.items()
              if n >= args.min_count and capitalised[w] <= args.max_capitalised * n and len(w) > 1 or w in ("a", "i")]
    common.sort(key=lambda w: (-total[w], w))
    words = common[: args.size]
    header = (f"# quals.facts: {len(words)} English words written in lower case (scripts/build_common_words.py: "
              f">= {args.min_count} occurrences, capitalised in <= {args.max_capitalised:.0%} of those not "
              "starting a sentence; the project's public training text)\n")
    args.out.write_text(header + "".join(w + "\n" for w in words), encoding="utf-8")
    print(f"wrote {args.out}: {len(words)} words (of {len(common)} common, {len(total)} distinct)")


if __name__ == "__main__":
    main()
