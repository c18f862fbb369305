"""Ray Data as the distributed engine: one Scorer per actor, a fixed-size actor pool, identical numbers.

A record's score depends on that record alone (its own search, its own teacher-forced passes), so where
it is scored changes nothing: on Ray it is the number `quals score` gives it on one machine (tested).

How the bundle reaches the workers:
- by default, `bundle` is a path that every node can read (a shared file system, or the same image on
  every node): each actor loads it from there and verifies its sha256;
- `ship_bundle=True` uploads the bundle with the job (Ray's runtime_env `working_dir`, under Ray's
  upload limit of a few hundred MB: the default model is 59 MB); each actor loads it from its working
  directory and verifies it, so a broken transfer is refused, never scored with.
quals itself must be importable on every node (installed in the image, or `pip` in the runtime_env).

`ray` is an optional extra (`pip install 'quals[ray]'`); nothing else in quals imports this module.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..bundle import load_bundle
from ..options import QualsOptions, default_options
from ..result import Fact, Result
from ..score import PairScore
from ..scorer import Scorer
from .pool import WorkerError

# Every field of a Result but its pairs (those travel as JSON text, `pairs`, with details).
RESULT_COLUMNS = tuple(f.name for f in dataclasses.fields(Result) if f.name not in ("pairs", "unsupported", "coverage"))
NULLABLE = ("quals", "error", "verdict", "p_consistent")  # object columns: None stays None


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise ImportError("the Ray engine needs ray: pip install 'quals[ray]'") from exc
    return ray


class ScoreActor:
    """The callable class of `map_batches`: loads the bundle once per actor, scores each batch.

    batch: {"source": (n,) str, "summary": (n,) str, ...} -> the same columns plus RESULT_COLUMNS,
    `unsupported` (JSON text of the unsupported facts, None without verdicts) and `pairs` (JSON text of the
    pairs with their per-token log-probs, and `coverage_pairs` likewise, when `details`).
    """

    def __init__(self, bundle: str | None, options: QualsOptions, provider: str = "cpu", threads: int = 1,
                 details: bool = False):
        path = Path(bundle) if bundle is not None else Path.cwd()  # None: shipped as the working_dir
        self.scorer = Scorer.load(path, provider, threads=threads, options=options)
        self.details = details

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = self.scorer.score([str(s) for s in batch["source"]], [str(s) for s in batch["summary"]])
        out = dict(batch)
        for col in RESULT_COLUMNS:
            values = [getattr(r, col) for r in results]
            out[col] = np.array(values, dtype=object if col in NULLABLE else None)
        out["unsupported"] = np.array([None if r.unsupported is None else json.dumps([f.to_dict() for f in
                                                                                      r.unsupported])
                                       for r in results], dtype=object)
        if self.details:
            out["pairs"] = np.array([json.dumps([_pair_dict(p) for p in r.pairs]) for r in results], dtype=object)
            out["coverage_pairs"] = np.array([json.dumps([_pair_dict(p) for p in r.coverage]) for r in results],
                                             dtype=object)
        return out


def score_dataset(ds, bundle: str | Path, *, actors: int = 1, cpus_per_actor: int = 1, batch_size: int = 16,
                  provider: str = "cpu", details: bool = False, ship_bundle: bool = False,
                  options: QualsOptions | None = None, **overrides: Any):
    """Map a Ray Dataset of `{source, summary, ...}` rows to the same rows with the QUALS result columns.

    One Scorer per actor, `actors` of them (a fixed pool), each with ONNX Runtime's intra-op threads = its
    `cpus_per_actor`. The options are resolved and checked here, on the driver, from the bundle's
    defaults and `overrides` (QualsOptions or SearchOptions fields), before any actor starts.
    """
    ray = _ray()
    b = load_bundle(bundle)  # checked on the driver: a bad path or bundle fails here, not in every actor
    opts = default_options(b, options, **overrides)
    kwargs: dict[str, Any] = {}
    if ship_bundle:
        kwargs["runtime_env"] = {"working_dir": str(Path(bundle).resolve())}
    return ds.map_batches(
        ScoreActor,
        fn_constructor_kwargs={"bundle": None if ship_bundle else str(Path(bundle).resolve()), "options": opts,
                               "provider": provider, "threads": cpus_per_actor, "details": details},
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=cpus_per_actor,
        **kwargs,
    )


def result_from_row(row: dict[str, Any]) -> Result:
    """The Result a row of `score_dataset` carries (pairs only when it was run with details)."""
    values = {c: row[c].item() if isinstance(row[c], np.generic) else row[c] for c in RESULT_COLUMNS}
    pairs = tuple(PairScore.from_dict(p) for p in json.loads(row["pairs"])) if row.get("pairs") else ()
    coverage = tuple(PairScore.from_dict(p) for p in json.loads(row["coverage_pairs"])) \
        if row.get("coverage_pairs") else ()
    facts = row.get("unsupported")
    unsupported = None if facts is None else tuple(Fact.from_dict(f) for f in json.loads(facts))
    return Result(**values, pairs=pairs, unsupported=unsupported, coverage=coverage)


def _pair_dict(p: PairScore) -> dict[str, Any]:
    """Everything a PairScore holds (answer_index too: the ans_lm variant is computed from it)."""
    return {**p.to_dict(), "answer_index": list(p.answer_index)}


class RayRunner:
    """The Ray engine in the shape of Scorer/ScorerPool (`score_batches`), for the CLI.

    Starts a local Ray when `address` is None and none is running, else connects to `address`.
    """

    def __init__(self, bundle: str | Path, options: QualsOptions, *, actors: int = 1, cpus_per_actor: int = 1,
                 provider: str = "cpu", address: str | None = None, details: bool = True,
                 ship_bundle: bool = False, batch_size: int = 16):
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().execution_options.preserve_order = True
        ray.data.DataContext.get_current().enable_progress_bars = False
        self.bundle, self.options = bundle, options
        self.actors, self.cpus_per_actor, self.provider = actors, cpus_per_actor, provider
        self.details, self.ship_bundle, self.batch_size = details, ship_bundle, batch_size

    def score_batches(self, batches: Iterable[tuple[Sequence[str], Sequence[str]]],
                      progress: Callable[[int], None] | None = None) -> Iterator[list[Result]]:
        """Results of each batch, in input order: every row goes through one Ray Dataset, keyed by position."""
        ray = _ray()
        sizes, rows = [], []
        for sources, summaries in batches:
            sizes.append(len(sources))
            rows += [{"row": len(rows) + i, "source": s, "summary": m}
                     for i, (s, m) in enumerate(zip(sources, summaries))]
        if not rows:
            yield from ([] for _ in sizes)
            return
        ds = score_dataset(ray.data.from_items(rows), self.bundle, actors=self.actors,
                           cpus_per_actor=self.cpus_per_actor, batch_size=self.batch_size, provider=self.provider,
                           details=self.details, ship_bundle=self.ship_bundle, options=self.options)
        pending: dict[int, Result] = {}
        it = iter(ds.iter_rows())
        next_row = 0
        for size in sizes:
            while any(r not in pending for r in range(next_row, next_row + size)):
                try:
                    row = next(it)
                except ray.exceptions.RayError as exc:  # an actor died, the cluster went away...
                    raise WorkerError(f"the Ray job failed ({type(exc).__name__}: {exc}); records in flight "
                                      "were not scored") from exc
                pending[int(row["row"])] = result_from_row(row)
                if progress:
                    progress(1)
            yield [pending.pop(r) for r in range(next_row, next_row + size)]
            next_row += size

    def close(self) -> None:
        """Leave Ray running (it may be shared); the actors go with the Dataset."""

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
