"""What every search shares: its options, its result and the step function it drives.

A search knows nothing of ONNX or tokenizers. It calls a step function that returns log-probs for the
current prefixes; the runtime's `DecoderState` is one, a lookup table is another (tests, golden vectors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..errors import OptionsError

SEARCHES = ("hf", "fairseq")


class StepFn(Protocol):
    def __call__(self, tokens: np.ndarray, parents: np.ndarray | None) -> np.ndarray:
        """Log-probs of the next token for every row.

        tokens: (n,) int, the token just appended to each row (the decoder start token on the first call).
        parents: (n,) int, the row of the previous call that each row extends; None on the first call.
        Returns (n, V) float32 log-probs in a fresh array that the search may modify in place (it masks
        tokens in it): a step function must not hand out an array it keeps.
        """
        ...


@dataclass(frozen=True)
class SearchOptions:
    """Diverse (group) beam search settings.

    Each field means exactly what it means in the chosen implementation (`search`):
    under "hf", transformers 4.56 `generate` (min/max_length count the decoder start token, no forced
    EOS at max_length, one result list per group merged at the end); under "fairseq", fairseq 0.9's
    SequenceGenerator + DiverseBeamSearch (min/max_length count generated tokens before EOS, EOS forced at
    max_length). See docs/search.md.
    """

    search: str = "fairseq"
    num_beams: int = 4
    num_groups: int = 1
    diversity: float = 0.0  # Hamming diversity strength: penalty = diversity x count
    min_length: int = 0
    max_length: int = 20
    length_penalty: float = 1.0
    num_return: int | None = None  # hf: num_return_sequences (default: num_beams); fairseq returns all
    early_stopping: bool | str = False  # hf only: True, False or "never"

    def __post_init__(self):
        if self.search not in SEARCHES:
            raise OptionsError(f"unknown search {self.search!r}; choose one of {', '.join(SEARCHES)}")
        if self.num_beams < 1 or self.num_groups < 1:
            raise OptionsError("num_beams and num_groups must be >= 1")
        if self.num_beams % self.num_groups:
            raise OptionsError(f"num_beams ({self.num_beams}) must be divisible by num_groups ({self.num_groups})")
        if self.diversity < 0:
            raise OptionsError("diversity must be >= 0")
        if self.max_length < 1 or self.min_length < 0:
            raise OptionsError("max_length must be >= 1 and min_length >= 0")
        if self.num_return is not None and not 1 <= self.num_return <= self.num_beams:
            raise OptionsError(f"num_return must be between 1 and num_beams ({self.num_beams})")
        if self.early_stopping not in (True, False, "never"):
            raise OptionsError("early_stopping must be True, False or 'never'")

    @property
    def returned(self) -> int:
        return self.num_beams if self.num_return is None else self.num_return


@dataclass(frozen=True)
class Hypothesis:
    """One finished (or length-capped) sequence.

    tokens: generated ids, without the decoder start token, with the final EOS when it ended on one.
    token_scores: per-token differences of the cumulative search score, so they carry the diversity
    penalty each token was charged; sum(token_scores) is the sequence's summed search score.
    score: the normalised score the search ranks by (sum / length ** length_penalty).
    text: for people, filled by `Scorer.generate` (a search knows no tokenizer): "question -> answer" cased and
    spelled as the input text writes them (quals.readable), or the tokens decoded without special tokens.
    """

    tokens: tuple[int, ...]
    token_scores: tuple[float, ...]
    score: float
    finished: bool = True
    extra: dict = field(default_factory=dict, compare=False)
    text: str | None = field(default=None, compare=False)

    @property
    def sum_score(self) -> float:
        return float(sum(self.token_scores))


SMALL_K = 8  # below this, k argmax scans beat one argpartition (a vocabulary row: ~10x faster)


def top_k(flat: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values of a 1-d array, descending; ties broken by lower index.

    The searches call this once per group per step on a beams x vocabulary row with k = 2 x beams, so
    for the authors' settings (60 groups of one beam, k = 2) it is the hottest line of the search.
    """
    k = min(k, flat.size)
    if k <= SMALL_K:
        v = np.array(flat, dtype=np.float64 if flat.dtype == np.float64 else np.float32, copy=True)
        out = np.empty(k, dtype=np.int64)
        for j in range(k):
            i = int(np.argmax(v))  # the first maximum: the lowest index among ties
            if v[i] == -np.inf or np.isnan(v[i]):
                break  # only -inf (or NaN) left: the general path orders those
            out[j] = i
            v[i] = -np.inf
        else:
            return out
    if k < flat.size:
        idx = _candidates(flat, k)
        sub = flat[idx]
        t = -np.partition(-sub, k - 1)[k - 1]  # the k-th largest value (of the whole array: see _candidates)
        above = idx[sub > t]
        idx = np.concatenate([above, idx[sub == t][: k - len(above)]])
    else:
        idx = np.arange(flat.size)
    return idx[np.lexsort((idx, -flat[idx]))]


BLOCK = 256  # values per block of _candidates' maxima


def _candidates(flat: np.ndarray, k: int) -> np.ndarray:
    """Ascending indices of a subset of `flat` that holds its k largest values and every tie of the k-th.

    Why: a partition of a whole beams x vocabulary array (1.8M values at 60 beams) costs ~10 ms a step.
    The k-th largest block maximum is a lower bound of the k-th largest value (k blocks each hold a value
    at least that large), so the values at or above it are a superset, found by one vectorised compare;
    usually a few hundred values are left to partition.
    """
    n = flat.size
    if n < 16 * BLOCK or k * 64 > n:
        return np.arange(n)
    whole = n - n % BLOCK
    maxima = flat[:whole].reshape(-1, BLOCK).max(axis=1)
    if whole < n:
        maxima = np.append(maxima, flat[whole:].max())
    if k > maxima.size or np.isnan(maxima).any():
        return np.arange(n)
    bound = np.partition(maxima, maxima.size - k)[maxima.size - k]
    return np.flatnonzero(flat >= bound)


def cumulative_to_deltas(cumulative) -> tuple[float, ...]:
    c = np.asarray(cumulative, dtype=np.float32)
    return tuple(float(x) for x in np.diff(c, prepend=np.float32(0.0)))
