"""Verdicts beyond the paper: is each checked fact supported, and is the summary consistent? (docs/verdicts.md)

QUALS is a mean of log-likelihood differences whose level moves from source to source, so a number is not a
verdict. A *calibration* (a small JSON file beside the bundle, `calibration.json`, fitted for that bundle by
`python -m quals.train.calibrate`) turns each scored pair into a probability that its fact is supported, and
the pairs of a summary into `p_consistent`:

    x_i = features of pair i (FEATURES: log-probs of its answer and question tokens given the source and given
          the summary, and whether its answer is written in the source at all), standardised by the
          calibration's center and scale
    z_i = w . x_i + b                      p_supported_i = sigmoid(z_i)
    p_consistent = sigmoid(v . agg(z) + c)   agg: the calibration's aggregate of the pair logits

and two thresholds on each probability give the verdicts: supported / uncertain / unsupported per pair,
consistent / uncertain / inconsistent per summary. Every feature reads only the stored log-probs and texts,
never the variant's S_y, so the verdict is the same for every variant. The `paper` number is untouched.
"""

from __future__ import annotations

import hashlib
import json
import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BundleError

CALIBRATION_NAME = "calibration.json"
FORMAT_NAME = "quals-calibration"
FORMAT_VERSION = 1
PAIR_VERDICTS = ("supported", "uncertain", "unsupported")
SUMMARY_VERDICTS = ("consistent", "uncertain", "inconsistent")


class CalibrationError(BundleError):
    """A calibration file that cannot be used with this bundle (corrupt, another format, another bundle's)."""


def is_word_char(ch: str) -> bool:
    """A letter (Unicode L*) or a decimal digit (Nd): what `words` and `edge_trimmed` keep."""
    cat = unicodedata.category(ch)
    return cat[0] == "L" or cat == "Nd"


def words(text: str) -> list[str]:
    """Maximal runs of letters (Unicode L*) and decimal digits (Nd): the same words in every host, whatever its
    regex engine calls a word character."""
    out, cur = [], []
    for ch in text:
        if is_word_char(ch):
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


@dataclass(frozen=True)
class SourceText:
    """The source as the lexical features read it: lower-cased as written and as the tokenizer sees it
    (decode(encode(source)): an uncased WordPiece drops accents and spaces punctuation), and the words of both.
    The whole source, never truncated: a fact written after the encoder's limit is still written there."""

    raw: str
    view: str
    words: frozenset[str]

    @classmethod
    def of(cls, source: str, view: str) -> SourceText:
        raw, view = source.lower(), view.lower()
        return cls(raw, view, frozenset(words(raw)) | frozenset(words(view)))


@dataclass(frozen=True)
class PairEvidence:
    """What a pair's features read: its per-token log-probs given the source and given the summary, which
    positions are question and answer, and its answer text (decoded, lower-cased)."""

    logp_source: np.ndarray  # (T,)
    logp_summary: np.ndarray  # (T,)
    search_scores: np.ndarray  # (T,) the search's per-token scores (diversity penalty included)
    question_index: tuple[int, ...]  # positions before the separator
    answer_index: tuple[int, ...]  # answer positions, punctuation and special tokens left out (ans_lm's)
    answer: str
    source: SourceText


def _mean_at(values: np.ndarray, index: Sequence[int]) -> float:
    return float(values[list(index)].mean()) if len(index) else 0.0


def edge_trimmed(text: str) -> str:
    """`text` without the characters at either end that are neither letters (L*) nor decimal digits (Nd): an
    answer's closing period or quote is not part of the fact ("third time." is written "third time," there)."""
    chars = [is_word_char(c) for c in text]
    if not any(chars):
        return ""
    first, last = chars.index(True), len(chars) - 1 - chars[::-1].index(True)
    return text[first:last + 1]


def _answer_in_source(e: PairEvidence) -> float:
    a = edge_trimmed(e.answer)
    return float(bool(a) and (a in e.source.raw or a in e.source.view))


def _answer_words_in_source(e: PairEvidence) -> float:
    ws = words(e.answer)
    return sum(w in e.source.words for w in ws) / len(ws) if ws else 1.0


# name -> feature; a calibration names the ones it uses, in its order (hosts implement these by name).
FEATURES: dict[str, Callable[[PairEvidence], float]] = {
    # mean log p of the answer tokens given the source minus given the summary: what the pair asserts
    "answer_diff": lambda e: _mean_at(e.logp_source - e.logp_summary, e.answer_index),
    "answer_source": lambda e: _mean_at(e.logp_source, e.answer_index),
    "answer_summary": lambda e: _mean_at(e.logp_summary, e.answer_index),
    # the clean variant's term: every token, EOS included
    "pair_diff": lambda e: float(e.logp_source.mean() - e.logp_summary.mean()),
    # the paper variant's term: against the search's scores
    "paper_term": lambda e: float(e.logp_source.mean() - e.search_scores.mean()),
    "question_diff": lambda e: _mean_at(e.logp_source - e.logp_summary, e.question_index),
    # is the answer written in the source at all (lower-cased substring, as the span test reads the summary;
    # punctuation at its ends left out)
    "answer_in_source": _answer_in_source,
    # the share of the answer's words that the source has
    "answer_words_in_source": _answer_words_in_source,
}

AGGREGATES: dict[str, Callable[[np.ndarray], list[float]]] = {
    "mean": lambda z: [float(z.mean())],
    "min": lambda z: [float(z.min())],
    "min+mean": lambda z: [float(z.min()), float(z.mean())],
    # a soft minimum: -log sum exp(-z), the log-odds that every pair is supported when they are independent
    "softmin": lambda z: [float(-np.logaddexp.reduce(-z))],
}


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def band(p: float, lower: float, upper: float, names: tuple[str, str, str]) -> str:
    """names[0] when p >= upper, names[2] when p < lower, else names[1] (the uncertain band)."""
    return names[0] if p >= upper else names[2] if p < lower else names[1]


@dataclass(frozen=True)
class PairJudgement:
    p_supported: float
    verdict: str


@dataclass(frozen=True)
class Judgement:
    p_consistent: float
    verdict: str
    pairs: tuple[PairJudgement, ...]


@dataclass(frozen=True)
class Calibration:
    """A fitted calibration (the file's content); `id` names it in the signature."""

    bundle: str  # digest of the bundle it was fitted for
    features: tuple[str, ...]
    center: tuple[float, ...]
    scale: tuple[float, ...]
    pair_weights: tuple[float, ...]
    pair_bias: float
    pair_thresholds: tuple[float, float]  # (unsupported below, supported from), on p_supported
    aggregate: str
    summary_weights: tuple[float, ...]
    summary_bias: float
    summary_thresholds: tuple[float, float]  # (inconsistent below, consistent from), on p_consistent
    # the word list that tells names from words in text without capitals (quals.facts): the coverage pairs
    # depend on it, so the file carries it and its id names it (a host reads it here, not from Python's package)
    common_words: frozenset[str] = frozenset()
    provenance: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def __post_init__(self):
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise CalibrationError(f"calibration uses unknown feature(s) {', '.join(unknown)}; this quals knows "
                                   f"{', '.join(FEATURES)}")
        if self.aggregate not in AGGREGATES:
            raise CalibrationError(f"calibration uses unknown aggregate {self.aggregate!r}")
        n = len(self.features)
        if not (len(self.center) == len(self.scale) == len(self.pair_weights) == n):
            raise CalibrationError("calibration: center, scale and pair weights need one value per feature")
        if len(self.summary_weights) != len(AGGREGATES[self.aggregate](np.zeros(1))):
            raise CalibrationError(f"calibration: the {self.aggregate} aggregate needs "
                                   f"{len(AGGREGATES[self.aggregate](np.zeros(1)))} summary weight(s)")
        if not self.common_words:
            raise CalibrationError("calibration: facts.common_words is empty (the word list of quals.facts)")
        for lo, hi in (self.pair_thresholds, self.summary_thresholds):
            if not 0.0 <= lo <= hi <= 1.0:
                raise CalibrationError("calibration: thresholds must satisfy 0 <= lower <= upper <= 1")

    def pair_logit(self, e: PairEvidence) -> float:
        x = [(FEATURES[f](e) - c) / s for f, c, s in zip(self.features, self.center, self.scale)]
        return float(np.dot(self.pair_weights, x) + self.pair_bias)

    def judge(self, evidence: Sequence[PairEvidence]) -> Judgement | None:
        """The verdicts of one summary's pairs; None when it has no pair (no score, no verdict)."""
        if not evidence:
            return None
        z = np.array([self.pair_logit(e) for e in evidence])
        pairs = tuple(PairJudgement(p, band(p, *self.pair_thresholds, PAIR_VERDICTS))
                      for p in (sigmoid(float(v)) for v in z))
        s = float(np.dot(self.summary_weights, AGGREGATES[self.aggregate](z)) + self.summary_bias)
        p = sigmoid(s)
        return Judgement(p, band(p, *self.summary_thresholds, SUMMARY_VERDICTS), pairs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "bundle": self.bundle,
            "features": list(self.features), "center": list(self.center), "scale": list(self.scale),
            "pair": {"weights": list(self.pair_weights), "bias": self.pair_bias,
                     "unsupported_below": self.pair_thresholds[0], "supported_from": self.pair_thresholds[1]},
            "aggregate": self.aggregate,
            "summary": {"weights": list(self.summary_weights), "bias": self.summary_bias,
                        "inconsistent_below": self.summary_thresholds[0],
                        "consistent_from": self.summary_thresholds[1]},
            "facts": {"common_words": sorted(self.common_words)},
            "provenance": self.provenance,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], id: str = "") -> Calibration:
        if d.get("format") != FORMAT_NAME or d.get("format_version") != FORMAT_VERSION:
            raise CalibrationError(f"not a {FORMAT_NAME} file of version {FORMAT_VERSION} (format "
                                   f"{d.get('format')!r}, version {d.get('format_version')!r})")
        try:
            pair, summ = d["pair"], d["summary"]
            return cls(
                bundle=str(d["bundle"]), features=tuple(d["features"]),
                center=tuple(float(v) for v in d["center"]), scale=tuple(float(v) for v in d["scale"]),
                pair_weights=tuple(float(v) for v in pair["weights"]), pair_bias=float(pair["bias"]),
                pair_thresholds=(float(pair["unsupported_below"]), float(pair["supported_from"])),
                aggregate=str(d["aggregate"]),
                summary_weights=tuple(float(v) for v in summ["weights"]), summary_bias=float(summ["bias"]),
                summary_thresholds=(float(summ["inconsistent_below"]), float(summ["consistent_from"])),
                common_words=frozenset(str(w) for w in d["facts"]["common_words"]),
                provenance=dict(d.get("provenance") or {}), id=id,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"calibration: missing or malformed field ({exc})") from exc


def calibration_text(cal: Calibration) -> str:
    """The file's text: sorted keys, two-space indent, a final newline (what `write_calibration` writes)."""
    return json.dumps(cal.to_dict(), indent=2, sort_keys=True) + "\n"


def write_calibration(cal: Calibration, bundle_dir: str | Path) -> Path:
    """Write `cal` beside the bundle, atomically; returns its path."""
    path = Path(bundle_dir) / CALIBRATION_NAME
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(calibration_text(cal), encoding="utf-8")
    tmp.replace(path)
    return path


def load_calibration(bundle_dir: str | Path, bundle_digest: str) -> Calibration | None:
    """The calibration beside a bundle, or None when it has none. Refused when it was fitted for another
    bundle: a calibration reads one model's log-probs, and a changed model needs a refit."""
    path = Path(bundle_dir) / CALIBRATION_NAME
    if not path.is_file():
        return None
    data = path.read_bytes()
    try:
        d = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{path}: corrupt calibration ({exc})") from exc
    if not isinstance(d, dict):
        raise CalibrationError(f"{path}: corrupt calibration (not a JSON object)")
    cal = Calibration.from_dict(d, id=hashlib.sha256(data).hexdigest())
    if cal.bundle != bundle_digest:
        raise CalibrationError(f"{path} was fitted for bundle {cal.bundle[:12]}, not this one "
                               f"({bundle_digest[:12]}): refit it (python -m quals.train.calibrate --model "
                               f"{bundle_dir}) or remove it to score without verdicts")
    return cal
