"""The service's state: the model (loaded once here, to check it and to sign results; scored in the pool's
processes), the signatures of every variant, the dispatcher, the metrics; and its jobs, score and explain.
"""

from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..bundle import Bundle
from ..engine import SessionOptionsHook
from ..models import resolve_model
from ..options import QualsOptions
from ..run.pool import ScorerPool, rss_bytes, threads_per_worker
from ..score import VARIANTS
from ..scorer import Scorer
from ..tasks import explain as ex
from .contract import ExplainRequest, ScoreRequest, result_records
from .dispatch import Dispatcher
from .limits import Limits
from .metrics import Metrics


@dataclass(frozen=True)
class ServiceConfig:
    """What `quals serve` loads and how it scores (the HTTP side is the server's)."""

    model: str | Path | None = None  # None: $QUALS_MODEL, else the shipped model
    workers: int = 1  # scoring processes
    threads: int | None = None  # intra-op threads per process (None: the cores shared out)
    provider: str = "cpu"
    allow_cpu_fallback: bool = False
    batch_records: int = 1
    limits: Limits = Limits()
    overrides: tuple[tuple[str, Any], ...] = ()  # QualsOptions / SearchOptions fields (None values dropped)
    session_options: SessionOptionsHook | None = None


def card_summary(bundle: Bundle) -> str | None:
    """The model card's first paragraph (MODEL_CARD.md beside the bundle), for /v1/info."""
    card = bundle.path / "MODEL_CARD.md"
    try:
        text = card.read_text(encoding="utf-8")
    except OSError:
        return None
    paragraphs = [p.strip() for p in text.split("\n\n")]
    return next((p for p in paragraphs if p and not p.startswith("#")), None)


class Service:
    """Load with `Service.open(config)` (raises QualsError for a bad bundle or options, before any port is
    bound); `start`/`drain`/`close` from the server's event loop."""

    def __init__(self, config: ServiceConfig, scorer: Scorer):
        self.config = config
        self.limits = config.limits
        self.bundle = scorer.bundle
        self.manifest = scorer.manifest
        self.tokenizer = scorer.codec.tokenizer
        # The limit resolved (the bundle's unless given): the workers and the signature say the same.
        self.options: QualsOptions = dataclasses.replace(scorer.options, max_source_tokens=scorer.source_limit)
        self.signatures = {v: scorer.signature(v) for v in VARIANTS}
        cal = scorer.calibration
        # the verdict mode's calibration, as /v1/info shows it (None: no verdicts)
        self.calibration = None if cal is None else {
            "id": cal.id, "features": list(cal.features), "aggregate": cal.aggregate,
            "consistent_from": cal.summary_thresholds[1], "inconsistent_below": cal.summary_thresholds[0],
            "cross_validated": cal.provenance.get("cross_validated")}
        self.provider = scorer.engine.provider
        self.metrics = Metrics()
        path, workers = self.bundle.path, config.workers

        def make_pool() -> ScorerPool:
            return ScorerPool(path, workers, self.options, provider=config.provider,
                              allow_cpu_fallback=config.allow_cpu_fallback, threads=config.threads,
                              session_options=config.session_options)

        self.dispatcher = Dispatcher(make_pool, workers, config.limits.queue_records, config.batch_records)
        self.metrics.watch(self.dispatcher)

    @classmethod
    def open(cls, config: ServiceConfig) -> Service:
        overrides = {k: v for k, v in config.overrides if v is not None}
        scorer = Scorer.load(resolve_model(config.model), config.provider,
                             allow_cpu_fallback=config.allow_cpu_fallback,
                             threads=threads_per_worker(config.workers, config.threads),
                             session_options=config.session_options, **overrides)
        service = cls(config, scorer)
        del scorer  # the pool's processes hold the sessions; this process keeps the tokenizer and the manifest
        gc.collect()
        return service

    @property
    def variant(self) -> str:
        return self.options.variant

    # -- life -----------------------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.dispatcher.start()

    async def drain(self, timeout: float) -> int:
        return await self.dispatcher.drain(timeout)

    async def close(self) -> None:
        await self.dispatcher.close()

    # -- jobs -----------------------------------------------------------------------------------------------
    async def score(self, request: ScoreRequest) -> dict[str, Any]:
        """The /v1/score response: the signature of the request's variant and one record per input record."""
        variant = request.variant or self.variant
        results = await self.dispatcher.score(request.texts, self.limits.deadline_s)
        records = result_records(request, results, variant)
        self.metrics.count_records(records)
        return {"signature": self.signatures[variant], "results": records}

    async def explain(self, request: ExplainRequest) -> ex.Explanation:
        variant = request.variant or self.variant
        (result,) = await self.dispatcher.score([(request.source, request.summary)], self.limits.deadline_s)
        result = result.for_variant(variant)
        self.metrics.count_records([result.to_dict()])
        return ex.explanation(result, request.source, request.summary, self.manifest, self.tokenizer,
                              self.signatures[variant])

    def info(self) -> dict[str, Any]:
        workers = [{"pid": w.pid, "rss_bytes": rss_bytes(w.pid), "peak_rss_bytes": w.peak_rss_bytes}
                   for w in self.dispatcher.workers_info]
        return {
            "quals": __version__,
            "bundle": {"id": self.bundle.digest, "path": str(self.bundle.path), "family": self.manifest.family,
                       "card": card_summary(self.bundle)},
            "signature": self.signatures[self.variant],
            "signatures": self.signatures,
            "variant": self.variant,
            "variants": list(VARIANTS),
            "limits": {**self.limits.to_dict(), "max_source_tokens": self.options.max_source_tokens},
            "workers": {"count": self.config.workers, "threads_each": threads_per_worker(self.config.workers,
                                                                                         self.config.threads),
                        "ready": self.dispatcher.ready, "restarts": self.dispatcher.restarts,
                        "processes": workers},
            "provider": self.provider,
            "calibration": self.calibration,
        }
