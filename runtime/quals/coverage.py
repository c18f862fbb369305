"""Coverage pairs: every name, number and date of a summary is checked by at least one pair (the verdict mode).

The diverse beam search decides what the generated pairs ask about, and nothing makes it ask about every fact:
on the synthetic check about one planted error in seven was never asked about (docs/verdicts.md). So each fact
of the summary (quals.facts) that no selected pair's answer covers gets a pair of its own: a cloze question
made from its sentence (quals.cloze, the training data's form), the fact as the answer. Coverage pairs are
teacher-forced on the summary and on the source like the selected pairs, in calls of their own (the selected
pairs' calls, and so the QUALS number, stay exactly as they were), and are judged with them; they never enter
the QUALS mean.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .cloze import cloze_question
from .facts import Fact, covers, find_facts
from .qa import QAPair
from .search import Hypothesis
from .text import TextCodec

CLOZE_KIND = {"name": "name", "number": "quantity", "date": "date"}  # facts' kinds -> cloze's
SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
WORDS = re.compile(r"\S+")
CLIP_WORDS = 12  # words kept on each side of a fact whose sentence makes a question of more than 30 words


@dataclass(frozen=True)
class CoverageTarget:
    """A coverage pair before scoring: its question, its answer (the fact as the summary writes it), the fact,
    and the QA sequence as QAGen writes one (question, separator, answer, EOS)."""

    question: str
    answer: str
    fact: Fact
    tokens: tuple[int, ...]
    sep_index: int

    def as_pair(self, logp_summary: Sequence[float]) -> QAPair:
        """The pair as score.pair_score reads one: no search wrote it, so the teacher-forced log-probs on the
        summary stand for its search scores (the clean variant's summary side)."""
        hyp = Hypothesis(self.tokens, tuple(float(x) for x in logp_summary), 0.0, finished=True)
        return QAPair(self.question, self.answer, self.tokens, self.sep_index, hyp)


def sentence_of(text: str, start: int, end: int) -> tuple[int, int]:
    """[lo, hi) of the sentence of `text` that holds [start, end): from after the last ". " / "! " / "? " before
    it to the end of the first one after it (or the text's ends)."""
    lo = max((m.end() for m in re.finditer(r"[.!?]\s+", text[:start])), default=0)
    m = SENTENCE_END.search(text, end)
    return lo, m.end() if m else len(text)


def clip_around(text: str, start: int, end: int, lo: int, hi: int, words: int = CLIP_WORDS) -> tuple[int, int]:
    """[lo, hi) narrowed to at most `words` whitespace-separated words before [start, end) and `words` after it."""
    before = list(WORDS.finditer(text, lo, start))
    after = list(WORDS.finditer(text, end, hi))
    return (before[-words].start() if len(before) > words else lo,
            after[words - 1].end() if len(after) > words else hi)


def coverage_targets(summary: str, answers: Iterable[str], codec: TextCodec, sep_id: int,
                     common: frozenset[str] | None = None) -> list[CoverageTarget]:
    """A cloze pair for each fact of `summary` that none of `answers` covers (facts.covers), in the summary's
    order. The question is made from the fact's sentence; where that makes more than 30 words, from the
    CLIP_WORDS words on each side of the fact; where it makes fewer than 4 (a sentence of 4 words or fewer),
    from it and the sentence before it (the first sentence: after it). A fact that still makes no question of
    4 to 30 words gets none. `common`: the word list of facts.find_facts (the calibration's)."""
    answers = list(answers)
    out = []
    for fact in find_facts(summary, common):
        if any(covers(a, fact) for a in answers):
            continue
        lo, hi = sentence_of(summary, fact.start, fact.end)
        question = cloze_question(summary[lo:hi], fact.start - lo, fact.end - lo, CLOZE_KIND[fact.kind])
        if question is None and len(summary[lo:hi].split()) > 4:  # too long: the words around the fact
            lo, hi = clip_around(summary, fact.start, fact.end, lo, hi)
            question = cloze_question(summary[lo:hi], fact.start - lo, fact.end - lo, CLOZE_KIND[fact.kind])
        elif question is None:  # too short ("New Caledonia."): with the sentence before it, else after it
            lo, hi = (sentence_of(summary, lo - 1, lo - 1)[0], hi) if lo > 0 else (lo, sentence_of(summary, hi, hi)[1])
            question = cloze_question(summary[lo:hi], fact.start - lo, fact.end - lo, CLOZE_KIND[fact.kind])
        if question is None:
            continue
        tokens = codec.qa_target(question, fact.text, sep_id)
        sep_index = len(codec.text_ids(question.strip()))  # not tokens.index: a question may spell the separator
        out.append(CoverageTarget(question, fact.text, fact, tuple(tokens), sep_index))
    return out
