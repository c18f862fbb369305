"""A synthetic consistency benchmark from held-out pool documents (never trained on).

For each document: the summary is its lead (first one or two sentences), label 1; the negative is the
same lead with one name, number or date replaced by one of the same kind that does not occur anywhere in
the source, label 0. QUALS should rank every positive above its negative; ROC-AUC measures how often.
Written as `{id, source, summary, label, origin}` JSONL, so `quals evaluate` reads it like any benchmark.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from quals.tasks.evaluate import read_scores

from .data import answer_candidates, is_held_out, read_jsonl, split_sentences, write_jsonl


def _number_swap(span: str, rng: random.Random) -> str | None:
    m = re.search(r"\d[\d,]*(?:\.\d+)?", span)
    if m is None:
        return None
    digits = m.group().replace(",", "")
    try:
        value = float(digits)
    except ValueError:
        return None
    for _ in range(10):
        new = value * rng.choice([0.5, 2, 3, 0.25, 1.5]) if value > 3 else value + rng.randint(2, 9)
        text = f"{int(round(new)):,}" if "." not in digits else f"{new:.1f}"
        if text.replace(",", "") != digits:
            return span[: m.start()] + text + span[m.end():]
    return None


def entity_pool(docs: list[dict]) -> dict[str, list[str]]:
    """Names and dates of the first 20 sentences of `docs`: what a swap draws replacements from."""
    pool: dict[str, list[str]] = {"name": [], "date": []}
    for d in docs:
        for s in split_sentences(d["text"])[:20]:
            for a, b, kind in answer_candidates(s):
                if kind in pool:
                    pool[kind].append(s[a:b])
    return pool


def plant_swap(text: str, source: str, pool: dict[str, list[str]], rng: random.Random
               ) -> tuple[str, str, tuple[int, int]] | None:
    """`text` with one name, number or date replaced by one of the same kind that `source` never mentions:
    (new text, kind, (start, end) of the replacement in it), or None when no candidate can be swapped."""
    cands = answer_candidates(text)
    rng.shuffle(cands)
    source_lower = source.lower()
    for a, b, kind in cands:
        span = text[a:b]
        if kind == "quantity" or (kind == "date" and re.search(r"\d", span) and rng.random() < 0.5):
            new = _number_swap(span, rng)
        else:
            options = [x for x in pool[kind] if x.lower() not in source_lower and x != span]
            new = rng.choice(options) if options else None
        if new and new.lower() not in source_lower:
            return text[:a] + new + text[b:], kind, (a, a + len(new))
    return None


def lead_of(sents: list[str]) -> str:
    """The first sentence, or the first two when the first is short (under 15 words)."""
    return " ".join(sents[: 1 if len(sents[0].split()) >= 15 else 2])


def build(articles: list[dict], *, seed: int = 0, max_docs: int | None = None) -> list[dict]:
    rng = random.Random(seed)
    docs = [d for d in articles if is_held_out(d["id"])]
    pool = entity_pool(docs)
    out = []
    for d in docs[:max_docs] if max_docs else docs:
        sents = split_sentences(d["text"])
        if len(sents) < 4:
            continue
        lead = lead_of(sents)
        negative = plant_swap(lead, d["text"], pool, rng)
        if negative is None:
            continue
        origin = d.get("origin", "pool")
        out.append({"id": f"{d['id']}-lead", "source": d["text"], "summary": lead, "label": 1, "origin": origin})
        out.append({"id": f"{d['id']}-swap-{negative[1]}", "source": d["text"], "summary": negative[0], "label": 0,
                    "origin": origin})
    return out


def planted_span(lead: str, swapped: str) -> tuple[int, int]:
    """(start, end) in `swapped` of what `build` planted: the text between the two summaries' common prefix and
    common suffix."""
    i = next((k for k, (a, b) in enumerate(zip(lead, swapped)) if a != b), min(len(lead), len(swapped)))
    j = 0
    while j < min(len(lead), len(swapped)) - i and lead[-1 - j] == swapped[-1 - j]:
        j += 1
    return i, len(swapped) - j


def paired_accuracy(scores_path: Path) -> dict[str, dict[str, float]]:
    """Per variant: the fraction of documents whose lead scores above its swapped copy (ties count half).

    ROC-AUC compares every positive with every negative, across documents whose score levels differ; this
    compares each lead with its own corruption only, which is what a ranking of candidate summaries of one
    source (ConSeq) needs. Reads the per-record scores of `quals evaluate --scores`.
    """
    recs = read_scores(scores_path)
    by_doc: dict[str, dict[int, dict]] = {}
    for r in recs:
        doc = r["id"].rsplit("-lead", 1)[0] if r["id"].endswith("-lead") else r["id"].rsplit("-swap-", 1)[0]
        by_doc.setdefault(doc, {})[int(r["label"])] = r
    out: dict[str, dict[str, float]] = {}
    variants = sorted({v for r in recs for v in r["quals"]})
    for v in variants:
        wins, n = 0.0, 0
        for pair in by_doc.values():
            if 0 in pair and 1 in pair:
                a, b = pair[1]["quals"].get(v), pair[0]["quals"].get(v)
                if a is None or b is None:
                    continue
                wins += 1.0 if a > b else 0.5 if a == b else 0.0
                n += 1
        out[v] = {"paired_accuracy": wins / n if n else float("nan"), "n_documents": n}
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.synthetic", description=__doc__)
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--out", type=Path, default=Path("build/synthetic.jsonl"))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rows = build(read_jsonl(a.data / "corpus" / "articles.jsonl"), seed=a.seed)
    write_jsonl(rows, a.out)
    print(f"{a.out}: {len(rows)} records ({len(rows) // 2} documents)")


if __name__ == "__main__":
    main()
