"""The queue between HTTP requests and the scoring processes.

Every request's records go into one FIFO queue (bounded: a request that does not fit is refused whole with
429 and a Retry-After estimate, never partly queued); one slot per scoring process takes the next records
and scores them in that process (ScorerPool.submit), so N processes are kept busy by any mix of requests.
Records of different requests may share a call: that changes no number, because the Scorer scores each
record on its own (its own search, its own teacher-forced passes; tests/test_parallel.py, test_serve.py).

A request waits at most its deadline (504; its records still queued are dropped, a record in a process
finishes and is thrown away). A process that dies (out of memory, killed) fails the requests whose records
it held (503 worker_died) and the pool is replaced; the other requests wait for the new one. `drain` stops
taking requests (503 shutting_down), lets the queue finish for up to its timeout, then refuses what is left,
explicitly, to the requests still waiting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from ..result import Result
from ..run.pool import ScorerPool, WorkerInfo
from .contract import ApiError

log = logging.getLogger("quals.serve")


@dataclass
class _Item:
    source: str
    summary: str
    future: asyncio.Future = field(repr=False)


class Dispatcher:
    """Records from any number of requests onto `workers` scoring processes (a pool `make_pool` builds).

    `batch_records`: most records per call of a process (1: each record as soon as a process is free; more
    amortises the calls' overhead, which is small next to a search). Use from one event loop.
    """

    def __init__(self, make_pool: Callable[[], ScorerPool], workers: int, queue_records: int,
                 batch_records: int = 1):
        self.make_pool, self.workers = make_pool, workers
        self.queue_records, self.batch_records = queue_records, batch_records
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._pool: ScorerPool | None = None
        self._pool_ready: asyncio.Event | None = None
        self._slots: list[asyncio.Task] = []
        self._starting: asyncio.Task | None = None
        self.inflight = 0
        self.draining = False
        self.workers_info: list[WorkerInfo] = []
        self.restarts = 0
        self.load_error: str | None = None
        self._seconds_per_record = 1.0  # moving average of a record's time in a process (Retry-After)

    # -- life -----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the slots and load the pool in the background (ready when every process answers)."""
        self._pool_ready = asyncio.Event()
        self._slots = [asyncio.create_task(self._slot(), name=f"quals-slot-{i}") for i in range(self.workers)]
        self._starting = asyncio.create_task(self._load())

    @property
    def ready(self) -> bool:
        return self._pool_ready is not None and self._pool_ready.is_set() and not self.draining

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def _load(self) -> None:
        try:
            pool = await asyncio.to_thread(self.make_pool)
            self.workers_info = await self._probe_all(pool)
        except Exception as exc:  # the model loaded in the server process, so this is rare: say it in /readyz
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("the scoring processes could not start: %s", self.load_error)
            return
        self._pool = pool
        self.load_error = None
        assert self._pool_ready is not None
        self._pool_ready.set()
        log.info("%d scoring process(es) ready", self.workers)

    async def _probe_all(self, pool: ScorerPool, rounds: int = 600) -> list[WorkerInfo]:
        """Every process's WorkerInfo: rounds of one probe per process until each has answered (a process that
        loaded first would otherwise answer them all while the others still load)."""
        seen: dict[int, WorkerInfo] = {}
        for _ in range(rounds):
            probes = [asyncio.wrap_future(pool.probe(hold_s=0.2)) for _ in range(self.workers)]
            for info in await asyncio.gather(*probes):
                seen[info.pid] = info
            if len(seen) >= self.workers:
                break
        return list(seen.values())

    async def _replace_pool(self, broken: ScorerPool) -> None:
        if self._pool is not broken:
            return  # another slot already replaced it
        assert self._pool_ready is not None
        self._pool_ready.clear()
        self._pool = None
        self.restarts += 1
        log.error("a scoring process died; starting a new pool")
        await asyncio.to_thread(broken.close)
        await self._load()

    async def drain(self, timeout: float) -> int:
        """Stop taking requests; give queued and running records up to `timeout` seconds; refuse the records
        still queued then (their requests get 503 shutting_down). Returns how many were refused."""
        self.draining = True
        end = time.monotonic() + timeout
        while (self.queued or self.inflight) and time.monotonic() < end:
            await asyncio.sleep(0.05)
        refused = 0
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not item.future.done():
                item.future.set_exception(ApiError(
                    "shutting_down", "the service is shutting down: this request's records were not scored; "
                    "send it again (to another instance)", headers={"Retry-After": "1"}))
                refused += 1
        return refused

    async def close(self) -> None:
        for t in [*self._slots, *([self._starting] if self._starting else [])]:
            t.cancel()
        await asyncio.gather(*self._slots, return_exceptions=True)
        if self._pool is not None:
            await asyncio.to_thread(self._pool.close)
            self._pool = None

    # -- requests -------------------------------------------------------------------------------------------
    def retry_after(self) -> int:
        """Seconds until the queue has likely room again (for 429's Retry-After): at least 1."""
        return max(1, min(600, math.ceil(self.queued * self._seconds_per_record / self.workers)))

    async def score(self, texts: list[tuple[str, str]], deadline_s: float) -> list[Result]:
        """The Results of (source, summary) pairs, in order; raises ApiError (overloaded, deadline,
        worker_died, shutting_down)."""
        if self.draining:
            raise ApiError("shutting_down", "the service is shutting down; send the request to another instance",
                           headers={"Retry-After": "1"})
        if self.load_error is not None:
            raise ApiError("internal", f"the scoring processes could not start: {self.load_error}")
        if not texts:
            return []
        if self.queued + len(texts) > self.queue_records:
            raise ApiError("overloaded", f"the queue is full ({self.queued} of {self.queue_records} records "
                           f"waiting; this request has {len(texts)}): retry later",
                           headers={"Retry-After": str(self.retry_after())})
        loop = asyncio.get_running_loop()
        items = [_Item(src, summ, loop.create_future()) for src, summ in texts]
        for item in items:
            self._queue.put_nowait(item)
        try:
            return list(await asyncio.wait_for(asyncio.gather(*(i.future for i in items)), deadline_s))
        except TimeoutError:
            raise ApiError("deadline", f"the request's {len(texts)} record(s) were not all scored within "
                           f"{deadline_s:g} s (--deadline); none of its results are returned") from None
        finally:
            for i in items:  # queued records of a failed request are dropped (a slot skips them)
                if not i.future.done():
                    i.future.cancel()
                elif not i.future.cancelled():
                    i.future.exception()  # retrieved: one failure per request is reported, not one per record

    async def _slot(self) -> None:
        assert self._pool_ready is not None
        while True:
            item = await self._queue.get()
            if item.future.done():
                continue
            batch = [item]
            while len(batch) < self.batch_records and not self._queue.empty():
                more = self._queue.get_nowait()
                if not more.future.done():
                    batch.append(more)
            self.inflight += len(batch)
            try:
                await self._pool_ready.wait()
                pool = self._pool
                assert pool is not None
                start = time.monotonic()
                results = await asyncio.wrap_future(
                    pool.submit(([i.source for i in batch], [i.summary for i in batch])))
            except BrokenProcessPool:
                _fail(batch, ApiError("worker_died", "a scoring process died (out of memory or killed) while it "
                                      "held this request's records; none of its results are returned: send it again",
                                      headers={"Retry-After": "5"}))
                await self._replace_pool(pool)
                continue
            except Exception as exc:  # not the records' fault (the Scorer turns theirs into error results)
                log.exception("scoring call failed")
                _fail(batch, ApiError("internal", f"scoring failed: {type(exc).__name__}: {exc}"))
                continue
            finally:
                self.inflight -= len(batch)
            elapsed = (time.monotonic() - start) / len(batch)
            self._seconds_per_record = 0.8 * self._seconds_per_record + 0.2 * elapsed
            for i, r in zip(batch, results):
                if not i.future.done():
                    i.future.set_result(r)


def _fail(batch: list[_Item], error: ApiError) -> None:
    for i in batch:
        if not i.future.done():
            i.future.set_exception(error)
