"""Score batches of records in worker processes, results in input order.

Why processes: a record's score depends on that record alone (its own search, its own teacher-forced
passes: never co-batched with another record's rows), so any number of workers gives the same numbers as
one; and at QUALS's call sizes ONNX Runtime's intra-op threads scale poorly (1 -> 2 threads: 0.95 -> 0.74
s per summary on the default model), while independent processes scale with the cores.
Each worker loads the bundle once (its own sessions, its own memory: peak RSS is per worker).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from ..engine import SessionOptionsHook
from ..errors import QualsError
from ..options import QualsOptions
from ..result import Result
from ..scorer import Scorer

Batch = tuple[Sequence[str], Sequence[str]]  # (sources, summaries)


class WorkerError(QualsError):
    """A worker process died (killed, out of memory): the records in flight have no result."""


def threads_per_worker(workers: int, threads: int | None) -> int | None:
    """The intra-op threads of each worker: as given, else the cores shared out (at least 1)."""
    if threads is not None or workers <= 1:
        return threads
    return max(1, (os.cpu_count() or 1) // workers)


@dataclass(frozen=True)
class _Load:
    path: str
    provider: str
    allow_cpu_fallback: bool
    threads: int | None
    options: QualsOptions
    session_options: SessionOptionsHook | None = None  # sent to the workers: a module-level function pickles


_worker_scorer: Scorer | None = None


def _init(load: _Load) -> None:
    global _worker_scorer
    # The parent loaded the bundle first and said whatever there was to say (a CPU fallback): not once more
    # per worker.
    logging.getLogger("quals.engine").setLevel(logging.ERROR)
    # The parent already verified the bundle's checksums and options; a worker only loads it.
    _worker_scorer = Scorer.load(load.path, load.provider, allow_cpu_fallback=load.allow_cpu_fallback,
                                 threads=load.threads, verify=False, options=load.options,
                                 session_options=load.session_options)


def _score(batch: Batch) -> list[Result]:
    if _worker_scorer is None:
        raise RuntimeError("scoring worker used before its initializer ran")
    return _worker_scorer.score(*batch)


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker reports about itself (ScorerPool.probe): for readiness and for sizing a deployment."""

    pid: int
    rss_bytes: int | None  # resident memory now (Linux /proc; None elsewhere)
    peak_rss_bytes: int  # the most it has held (getrusage)


def rss_bytes(pid: int | str = "self") -> int | None:
    """Resident memory of a process from /proc (Linux), None where there is no /proc or no such process."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _probe(hold_s: float = 0.0) -> WorkerInfo:
    if _worker_scorer is None:
        raise RuntimeError("scoring worker used before its initializer ran")
    time.sleep(hold_s)  # so that the other probes of a round go to the other workers

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return WorkerInfo(os.getpid(), rss_bytes(), peak * 1024)


class ScorerPool:
    """`workers` processes, each with its own Scorer loaded with the same bundle and options.

    Drop-in for a Scorer where batches are scored: `score_batches` has the same shape.
    """

    def __init__(
        self,
        path: str | Path,
        workers: int,
        options: QualsOptions,
        *,
        provider: str = "cpu",
        allow_cpu_fallback: bool = False,
        threads: int | None = None,
        session_options: SessionOptionsHook | None = None,
    ):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        load = _Load(str(path), provider, allow_cpu_fallback, threads_per_worker(workers, threads), options,
                     session_options)
        # spawn, not fork: ONNX Runtime's thread pools do not survive a fork.
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_init, initargs=(load,))

    def submit(self, batch: Batch) -> Future:
        """Score one batch in a worker: a Future of its Results (in order). A dead worker makes the Future raise
        BrokenProcessPool, and the pool is unusable from then on (make another)."""
        return self._pool.submit(_score, batch)

    def probe(self, hold_s: float = 0.0) -> Future:
        """A Future of a worker's WorkerInfo, once that worker has loaded its model; the worker then waits
        `hold_s` seconds, so that a round of probes (one per worker) reaches every loaded worker."""
        return self._pool.submit(_probe, hold_s)

    def score_batches(self, batches: Iterable[Batch], progress: Callable[[int], None] | None = None
                      ) -> Iterator[list[Result]]:
        """Results of each batch, in input order; at most 2 batches per worker in flight."""
        pending: deque[tuple[Future, int]] = deque()
        it = iter(batches)
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    batch = next(it, None)
                    if batch is None:
                        break
                    pending.append((self.submit(batch), len(batch[0])))
                if not pending:
                    return
                future, n = pending.popleft()
                results = future.result()
                if progress:
                    progress(n)
                yield results
        except BrokenProcessPool as exc:
            raise WorkerError(f"a scoring worker died ({exc}); records in flight were not scored") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ScorerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
