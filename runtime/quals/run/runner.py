"""One entry to every engine: a Scorer in this process, a pool of worker processes, or Ray Data actors.

`open_runner` loads the bundle and resolves the options here, in this process, before any worker starts (so a
bad bundle or option fails at once, not in a worker), and yields a runner with `score_batches` (the shape
Scorer, ScorerPool and RayRunner share), the run's signature and the resolved options.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import SessionOptionsHook
from ..errors import OptionsError
from ..models import resolve_model
from ..options import QualsOptions
from ..scorer import Scorer
from .pool import ScorerPool, threads_per_worker

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class EngineSpec:
    """Where records are scored. local: this process, or `workers` processes; ray: Ray Data actors."""

    engine: str = "local"
    workers: int = 1  # local only
    address: str | None = None  # ray: the cluster (None: start or join a local Ray)
    actors: int = 1  # ray
    cpus_per_actor: int = 1  # ray: also each actor's intra-op threads
    ship_bundle: bool = False  # ray: upload the bundle with the job

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise OptionsError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.workers < 1 or self.actors < 1 or self.cpus_per_actor < 1:
            raise OptionsError("workers, actors and cpus_per_actor must be >= 1")
        if self.engine == "ray" and self.workers > 1:
            raise OptionsError("workers (--workers) are the local engine's; with the ray engine give actors (--actors)")


def batch_size_for(n_items: int, spec: EngineSpec, cap: int = 16) -> int:
    """Items per batch so that every worker (or actor) gets work: about four batches each, at most `cap` items
    per batch (fewer calls), at least 1. A 20-summary run on 2 workers: batches of 3 (7 batches), not one batch
    of 16 that leaves a worker idle. The numbers do not depend on it (each record is scored on its own)."""
    engines = spec.actors if spec.engine == "ray" else spec.workers
    return max(1, min(cap, -(-n_items // (4 * engines))))


@dataclass(frozen=True)
class Run:
    runner: Any  # Scorer | ScorerPool | RayRunner: each has score_batches(batches, progress)
    signature: str
    options: QualsOptions  # with max_source_tokens resolved to the limit in force


@contextlib.contextmanager
def open_runner(model: str | Path | None, spec: EngineSpec = EngineSpec(), *, provider: str = "cpu",
                allow_cpu_fallback: bool = False, threads: int | None = None, details: bool = True,
                batch_size: int = 16, session_options: SessionOptionsHook | None = None,
                **overrides: Any) -> Iterator[Run]:
    """A Run on `spec`'s engine, all scoring with the same options (so with the same numbers); `overrides` are
    QualsOptions or SearchOptions fields (None: the bundle's default); `session_options` changes ONNX Runtime's
    session options in this process and every local worker (not on Ray). Raises QualsError subclasses."""
    path = resolve_model(model)
    ray = spec.engine == "ray"
    local_threads = spec.cpus_per_actor if ray else threads_per_worker(spec.workers, threads)
    scorer = Scorer.load(path, provider, allow_cpu_fallback=allow_cpu_fallback, threads=local_threads,
                         session_options=session_options, **overrides)
    # The limit resolved (the bundle's unless given), so that messages can state it; the numbers are the same.
    options = dataclasses.replace(scorer.options, max_source_tokens=scorer.source_limit)
    signature = scorer.signature()
    if ray:
        del scorer
        from .ray import RayRunner  # imports ray itself only when the runner starts

        with RayRunner(path, options, actors=spec.actors, cpus_per_actor=spec.cpus_per_actor, provider=provider,
                       address=spec.address, details=details, ship_bundle=spec.ship_bundle,
                       batch_size=batch_size) as runner:
            yield Run(runner, signature, options)
        return
    if spec.workers <= 1:
        yield Run(scorer, signature, options)
        return
    del scorer  # the workers hold the sessions
    with ScorerPool(path, spec.workers, options, provider=provider, allow_cpu_fallback=allow_cpu_fallback,
                    threads=threads, session_options=session_options) as pool:
        yield Run(pool, signature, options)
