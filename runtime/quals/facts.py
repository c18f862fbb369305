"""The facts of a summary that a reader checks first: names, numbers and dates, as character spans.

No spaCy (a training-time tool, never a runtime dependency) and no reliance on capitals alone: Goyal21's
summaries are all lower case. So:
- numbers: digits (with separators, decimals, a currency sign, a unit or a scale word), number words from
  "two" up ("one" is mostly a pronoun), digit ordinals ("21st");
- dates: month names (and their short forms; "may" only beside a number), weekdays, years 1500-2099 and
  decades ("1990s"), with a day and a year where they are attached;
- names: in text with capitals, runs of capitalised words (a sentence's first word only when it is not a
  common word); in text without capitals, runs of words that are not common English words
  (`common_words.txt`, built from the project's public text by scripts/build_common_words.py: the words that
  edited text writes in lower case). An all-caps word of 2+ letters in mixed-case text is a name (NASA), and
  so is a capitalised speaker label ("Reds: yeah"). Without capitals, a name that is also a common word
  ("rose", "justice") cannot be told from the word: on the synthetic check 85% of the planted swaps are found
  in the lower-cased summaries, against all of them with capitals (tests/test_facts.py).
Spans never overlap; a date wins over a number, a number over a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

KINDS = ("name", "number", "date")

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
          "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
                "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
                "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million",
                "billion", "trillion", "dozen", "dozens", "hundreds", "thousands", "millions", "billions")
SCALE = r"(?:hundred|thousand|million|billion|trillion|m|bn|k)"
UNIT = (r"(?:per\s?cent|percent|pounds?|dollars?|euros?|yen|years?|months?|weeks?|days?|hours?|minutes?|"
        r"seconds?|miles?|km|kilometres?|kilometers?|metres?|meters?|feet|foot|inches|kg|tons?|tonnes?|people|"
        r"goals?|points?|votes?|seats?|homes?|times)")
_NUM = r"(?:[$£€¥]\s?)?\d[\d,]*(?:\.\d+)?"
_MONTH = r"(?:" + "|".join(MONTHS) + r")\.?"
DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:,?\s+\d{{4}})?"  # 12 may 2010
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"  # may 12, 2010
    rf"|{_MONTH}\s+\d{{4}}"  # may 2010
    rf"|(?!may\b){_MONTH}"  # june (may alone is a verb)
    r"|(?:" + "|".join(WEEKDAYS) + r")"
    r"|(?:1[5-9]|20)\d\ds?|'\d0s)(?![\w])",
    re.IGNORECASE,
)
NUMBER = re.compile(
    r"\b\d+(?:st|nd|rd|th)\b"
    rf"|(?<![\w.]){_NUM}(?:\s?{SCALE}\b)?(?:\s?%|\s?{UNIT}\b)?"
    r"|\b(?:" + "|".join(NUMBER_WORDS) + r")(?:[\s-](?:" + "|".join(NUMBER_WORDS) + r"))*\b"
    + rf"(?:\s?{UNIT}\b)?",
    re.IGNORECASE,
)
WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
CONNECTORS = frozenset({"of", "de", "del", "da", "van", "von", "der", "den", "le", "la", "al", "bin", "el", "du"})
SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“”(\[]\s*|\n\s*)$")


@dataclass(frozen=True)
class Fact:
    start: int
    end: int
    kind: str  # name | number | date
    text: str


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """The shipped list (package data): lower-case English words that are not names."""
    text = resources.files(__package__).joinpath("common_words.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def has_capitals(text: str) -> bool:
    """Whether `text` is written with capitals at all (Goyal21 is not): then capitals mark names."""
    letters = [c for c in text if c.isalpha()]
    return any(c.isupper() for c in letters) and not all(c.isupper() for c in letters)


def find_facts(text: str, common: frozenset[str] | None = None) -> list[Fact]:
    """The names, numbers and dates of `text`, in order, never overlapping. `common`: the word list that tells
    names from words in text without capitals (default: the shipped one, `common_words()`; the verdict mode
    passes its calibration's copy, so that the file names every input of a verdict)."""
    spans: list[tuple[int, int, str]] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b, _ in spans)

    for m in DATE.finditer(text):
        if free(m.start(), m.end()):
            spans.append((m.start(), m.end(), "date"))
    for m in NUMBER.finditer(text):
        s, e = m.start(), m.end()
        while e > s and text[e - 1] in " -":
            e -= 1
        if e > s and free(s, e):
            spans.append((s, e, "number"))
    for s, e in _names(text, common_words() if common is None else common):
        if free(s, e):
            spans.append((s, e, "name"))
    return [Fact(s, e, kind, text[s:e]) for s, e, kind in sorted(spans)]


def _names(text: str, common: frozenset[str]) -> list[tuple[int, int]]:
    cased = has_capitals(text)
    out: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []  # name words of the current run
    pending: list[tuple[int, int]] = []  # connectors after it ("bank of" ... "england")

    def close() -> None:
        if run:
            out.append((run[0][0], run[-1][1]))
        run.clear()
        pending.clear()

    last_end = 0
    for m in WORD.finditer(text):
        word, s, e = m.group(), m.start(), m.end()
        gap = text[last_end:s]
        last_end = e
        if run and not re.fullmatch(r"\s+", gap):  # punctuation between words ends a run
            close()
        lower = word.lower().replace("’", "'")
        base = lower[:-2] if lower.endswith("'s") else lower
        if cased:
            initial = SENTENCE_START.search(text[max(0, s - 3):s]) is not None or s == 0
            speaker = text[e:e + 1] == ":"  # a dialogue's "Anna: ..." names a speaker, even a common word
            is_name = (word[0].isupper() and not (initial and base in common and not speaker)) or (
                len(word) >= 2 and word.isupper() and base not in common)
        else:
            is_name = base not in common and len(base) >= 2
        if is_name and base not in MONTHS and base not in WEEKDAYS and base not in NUMBER_WORDS:
            run.extend(pending)
            pending.clear()
            end = e - 2 if lower.endswith("'s") else e
            run.append((s, end))
            if end != e:  # a possessive ends the name
                close()
        elif run and lower in CONNECTORS and not pending:
            pending.append((s, e))
        else:
            close()
    close()
    return out


def covers(answer: str, fact: Fact) -> bool:
    """Whether a QA pair's answer asks about `fact`: they share a word (case-insensitive)."""
    a = {w.lower() for w in WORD.findall(answer)} | set(re.findall(r"\d[\d,.]*", answer))
    f = {w.lower() for w in WORD.findall(fact.text)} | set(re.findall(r"\d[\d,.]*", fact.text))
    return bool(a & (f - CONNECTORS))
