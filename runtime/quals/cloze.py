"""Cloze questions: a sentence with one span replaced by a wh-word ("Anna built it in 1990." -> "Anna built it
when?"), the form of the training data's cloze pairs (quals.train.data builds them with this code), so that a
model trained on them reads such a question as a question. The verdict mode asks one about every fact of a
summary that no generated pair asks about (quals.coverage).
"""

from __future__ import annotations

import re

# a name followed by one of these is a person: "who", else "what"
PERSON_VERBS = re.compile(
    r"^\s*(?:,\s*\d+,\s*)?(?:said|says|told|was|is|has|had|added|claimed|wrote|became|won|scored|"
    r"announced|insisted|admitted|explained|believes|thinks|will|would|could)\b"
)
MONEY = re.compile(r"[$£€%]|per ?cent|million|billion|pounds|dollars|euros")


def wh_word(kind: str, span: str, after: str) -> str:
    """The wh-word that asks for `span` of `kind` (date, quantity, anything else a name), given the text after it."""
    if kind == "date":
        return "when"
    if kind == "quantity":
        return "how much" if MONEY.search(span) else "how many"
    return "who" if PERSON_VERBS.match(after) else "what"


def cloze_question(sentence: str, start: int, end: int, kind: str, wh: str | None = None) -> str | None:
    """`sentence` with [start, end) replaced by its wh-word, capitalised, ending in "?"; None when the question
    would have fewer than 4 or more than 30 words."""
    before, span, after = sentence[:start], sentence[start:end], sentence[end:]
    q = (before + (wh or wh_word(kind, span, after)) + after).strip()
    q = re.sub(r"[\s.!;:,\"']+$", "", q)
    if not 4 <= len(q.split()) <= 30:
        return None
    return q[0].upper() + q[1:] + "?"
