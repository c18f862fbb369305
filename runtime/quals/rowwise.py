"""float32 log-softmax over the vocabulary, row by row, on as many threads as ONNX Runtime has.

After each decoding step the search turns the logits (rows x vocabulary) into log-probs, and the
teacher-forced passes pick the log-prob of each target token; both run in numpy between ONNX Runtime calls
and are bound by numpy's single-threaded `exp` (docs/performance.md, "Where the remaining time goes"). Every
row is computed by the same numpy operations on its own (a reduction over the last axis of a contiguous row
does not depend on the other rows), so splitting the rows over threads gives the same numbers, bit for bit
(tests/test_rowwise.py), while ONNX Runtime, whose threads sit idle between calls, waits. numpy releases the
GIL inside its loops, so the threads run at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_SPLIT = 1 << 17  # elements per thread below which a thread costs more than it saves (~25 us a hand-off)


def log_softmax(x: np.ndarray, *, inplace: bool = False) -> np.ndarray:
    """float32 log-softmax over the last axis, in the form torch's CPU kernel uses (x - max - log Σ exp).

    inplace: overwrite `x` (a float32 array the caller owns, e.g. a fresh ONNX output) instead of
    allocating three arrays of its size; the values are the same.
    """
    if not inplace or x.dtype != np.float32:
        x = np.array(x, dtype=np.float32)
    np.subtract(x, x.max(axis=-1, keepdims=True), out=x)
    np.subtract(x, np.log(np.exp(x).sum(axis=-1, keepdims=True)), out=x)  # one scratch array: exp(x)
    return x


def pick_log_probs(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """log_softmax(logits)[..., targets] without materialising the log-softmax: (..., V), (...) -> (...).

    Same float32 operations as `log_softmax` (so the same values), but in place on `logits`.
    """
    np.subtract(logits, logits.max(axis=-1, keepdims=True), out=logits)
    picked = np.take_along_axis(logits, targets[..., None], axis=-1)
    lse = np.log(np.exp(logits, out=logits).sum(axis=-1, keepdims=True))  # the shifted logits are spent
    return (picked - lse)[..., 0]


def available_cpus() -> int:
    """The CPUs this process may run on (what ONNX Runtime's default thread count is sized from)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


class RowThreads:
    """Runs a row-wise kernel over chunks of rows on up to `threads` threads (the caller's among them).

    threads: None for every available CPU (ONNX Runtime's default), 1 for none. The pool is made on first
    use and remade in a forked child (threads do not survive a fork).
    """

    def __init__(self, threads: int | None = None):
        self.threads = max(1, threads if threads else available_cpus())
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None or self._pid != os.getpid():
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="quals-rows")
            self._pid = os.getpid()
        return self._pool

    def chunks(self, rows: int, width: int) -> list[slice]:
        """How `rows` rows of `width` elements are split: one slice per thread that gets enough work."""
        n = min(self.threads, rows, max(1, rows * width // MIN_SPLIT))
        bounds = [rows * i // n for i in range(n + 1)]
        return [slice(bounds[i], bounds[i + 1]) for i in range(n)]

    def map_rows(self, kernel: Callable[[slice], None], rows: int, width: int) -> None:
        """kernel(rows_slice) for every chunk; the calls must touch only their own rows."""
        parts = self.chunks(rows, width)
        if len(parts) == 1:
            kernel(parts[0])
            return
        futures = [self._executor().submit(kernel, part) for part in parts[1:]]
        kernel(parts[0])
        for f in futures:
            f.result()

    def log_softmax(self, x: np.ndarray) -> np.ndarray:
        """`log_softmax(x, inplace=True)` of a float32 (rows, V) array the caller owns, the rows split."""
        if x.ndim != 2 or x.dtype != np.float32 or not x.flags.c_contiguous:
            return log_softmax(x, inplace=True)

        def kernel(part: slice) -> None:
            log_softmax(x[part], inplace=True)

        self.map_rows(kernel, x.shape[0], x.shape[1])
        return x

    def pick_log_probs(self, logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """`pick_log_probs(logits, targets)` for (..., V) logits the caller owns, the leading rows split."""
        if logits.dtype != np.float32 or not logits.flags.c_contiguous:
            return pick_log_probs(logits, targets)
        flat, tgt = logits.reshape(-1, logits.shape[-1]), targets.reshape(-1)
        out = np.empty(tgt.shape, dtype=np.float32)

        def kernel(part: slice) -> None:
            out[part] = pick_log_probs(flat[part], tgt[part])

        self.map_rows(kernel, flat.shape[0], flat.shape[1])
        return out.reshape(targets.shape)
