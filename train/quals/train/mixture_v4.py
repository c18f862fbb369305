"""Mixture v4: every human QA pair we have (SQuAD 1.1 train, SQuADShifts, FairytaleQA's extractive pairs) and
spaCy named-entity cloze pairs of the training articles, each pair with a short and a long context.

- short: the answer's sentence and up to two neighbours (data.short_window): summary-like, what QUALS generates
  questions from;
- long: the answer's paragraph inside its neighbours of the same article or story (files whose titles name an
  article: SQuAD, SQuADShifts' new Wikipedia, FairytaleQA), up to `max_words` words, so that the model reads
  sources as long as the runtime's 510-token limit; the answer's paragraph starts in the first 60% of the
  budget, so that truncation at 510 tokens rarely cuts it (loop.encode_groups drops the pairs it does cut).
  All questions of a paragraph share its long context, so that training encodes it once for all of them.
Validation is v1's (FairytaleQA val + cloze from held-out articles), so that every mixture's losses compare.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from . import data
from .data import QAExample

# origin -> file under qa/ (SQuAD 1.1 dev is evaluation only: XQuAD-en is part of it)
SOURCES = data.SQUAD_SOURCES
# Files whose `title` names one article or story: its paragraphs are neighbours. Reddit and Amazon reviews
# share one title across unrelated posts, so their long context is the post itself.
JOINS_NEIGHBOURS = frozenset({"squad", "shifts-wiki", "fairytaleqa"})
MAX_WORDS = 380  # about 500 MiniLM pieces of English prose: the runtime's 510-token limit
CLOZE_PER_DOC = 8


def _paragraphs(path: Path) -> list[tuple[str, str, list[dict]]]:
    """(title, context, records) in file order; records of one context are grouped."""
    out: dict[tuple[str, str], list[dict]] = {}
    for r in data.read_jsonl(path):
        out.setdefault((r.get("title") or r["id"], r["context"]), []).append(r)
    return [(t, c, rs) for (t, c), rs in out.items()]


def long_context(paras: list[str], k: int, rng: random.Random, max_words: int = MAX_WORDS) -> str:
    """Paragraph k with neighbours: a budget of max_words/3..max_words words, up to two paragraphs before it
    while it still starts within the first 60% of the budget, then the following ones while they fit."""
    budget = rng.randint(max_words // 3, max_words)
    n_before = rng.randint(0, 2)
    words = [len(p.split()) for p in paras]
    lo = k
    while n_before and lo > 0 and sum(words[lo - 1:k]) <= 0.6 * budget:
        lo, n_before = lo - 1, n_before - 1
    hi, total = k + 1, sum(words[lo:k + 1])
    while hi < len(paras) and total + words[hi] <= budget:
        total, hi = total + words[hi], hi + 1
    return "\n".join(paras[lo:hi])


def human_qa_examples(path: Path, origin: str, *, seed: int, max_words: int = MAX_WORDS) -> Iterator[QAExample]:
    """Every extractive pair of a squad_like file, short and long (see the module's docstring)."""
    paragraphs = _paragraphs(path)
    by_title: dict[str, list[int]] = {}
    for n, (title, _, _) in enumerate(paragraphs):
        by_title.setdefault(title, []).append(n)
    for n, (title, ctx, records) in enumerate(paragraphs):
        rng = random.Random(f"{seed}:{origin}:{n}")
        if origin in JOINS_NEIGHBOURS:
            siblings = by_title[title]
            long = long_context([paragraphs[i][1] for i in siblings], siblings.index(n), rng, max_words)
        else:
            long = ctx
        spans = data.sentence_spans(ctx)
        sentences = [ctx[a:b] for a, b in spans]
        for r in records:
            pair = data.extractive_answer(r, ctx)
            if pair is None:
                continue
            question, answer, start = pair
            hit = next((i for i, (a, b) in enumerate(spans) if a <= start and start + len(answer) <= b), None)
            if hit is not None:  # an answer across a sentence boundary has no summary-like window
                yield QAExample(data.short_window(sentences, hit, rng), question, answer, origin, "short")
            yield QAExample(long, question, answer, origin, "long")


def build_v4(data_root: Path, *, seed: int = 13) -> dict[str, list[QAExample]]:
    import spacy

    qa = data_root / "qa"
    train: list[QAExample] = []
    for origin, rel in SOURCES.items():
        train += human_qa_examples(qa / rel, origin, seed=seed)
    nlp = spacy.load(data.SPACY_MODEL, disable=["lemmatizer"])
    articles = data.read_jsonl(data_root / "corpus" / "articles.jsonl")
    train_docs = [d for d in articles if not data.is_held_out(d["id"])]
    train += data.ner_cloze_examples(train_docs, nlp, per_doc=CLOZE_PER_DOC, seed=seed, long_words=MAX_WORDS - 80)
    random.Random(seed).shuffle(train)
    return {"train": train, "val": data.build(data_root, seed=seed)["val"]}
