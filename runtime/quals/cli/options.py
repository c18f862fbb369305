"""The options the commands share, declared once; choices come from the registries they name."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click

from ..engine import PROVIDERS
from ..errors import OptionsError
from ..run.runner import ENGINES, EngineSpec
from ..score import VARIANTS
from ..search import SEARCHES
from ..tasks.io import FORMATS


def _all(*decorators: Callable) -> Callable:
    def apply(f):
        for d in reversed(decorators):
            f = d(f)
        return f

    return apply


model = click.option("--model", "model", default=None,
                     help="Bundle directory (default: $QUALS_MODEL, else the shipped model).")
provider = _all(
    click.option("--provider", type=click.Choice(list(PROVIDERS)), default="cpu", show_default=True,
                 help="ONNX Runtime execution provider."),
    click.option("--allow-cpu-fallback", is_flag=True,
                 help="Run on CPU (with a warning) when the provider cannot be used."),
)
threads = click.option("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: all cores).")
variant = click.option("--variant", type=click.Choice(list(VARIANTS)), default=None,
                       help="Summary-side definition (default: the bundle's, paper).")
max_pairs = click.option("--max-pairs", type=click.IntRange(min=1), default=None,
                         help="Selection cap, checked between round-robin rounds (authors: 10).")
max_source_tokens = click.option("--max-source-tokens", type=int, default=None,
                                 help="Text tokens kept from a source or a summary (default and maximum: the bundle's "
                                      "limit).")
source_windows = click.option("--source-windows", is_flag=True, default=None,
                              help="Beyond the paper: score each QA pair against overlapping windows of the whole "
                                   "source (the limit each, half overlapping; its best window counts) instead of "
                                   "the source's first tokens. Signed as win:half. Measured worse than truncation on "
                                   "Polytope and Goyal21 (docs/verdicts.md).")
verdicts = click.option("--verdicts/--no-verdicts", default=None,
                        help="Verdict fields (verdict, p_consistent, unsupported; per pair with --details) from the "
                             "calibration beside the bundle (default: on when the bundle has one; docs/verdicts.md). "
                             "They change no QUALS number; the signature names the calibration (cal:ID).")
coverage_pairs = click.option("--coverage-pairs", is_flag=True, default=None,
                              help="Add the verdict mode's coverage pairs to --details even without verdicts (what "
                                   "python -m quals.train.calibrate fits on). Changes no QUALS number.")
progress = click.option("--progress/--no-progress", default=True, help="Progress bar on stderr (only on a terminal).")
overwrite = click.option("--overwrite", is_flag=True, help="Replace the files of an existing output.")
input_format = click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                            help="Input format (default: from the input's extension, else jsonl).")
batch_size = click.option("--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
                          help="Records per scoring call (per task of a worker); each record is written when its "
                               "call returns. Summaries of one source share its encoding either way (a scorer "
                               "keeps its last 8 sources encoded).")

SEARCH_FLAGS = ("search", "num_beams", "num_groups", "diversity", "min_length", "max_length", "length_penalty")
search = _all(
    click.option("--search", type=click.Choice(list(SEARCHES)), default=None, help="Search semantics."),
    click.option("--num-beams", type=int, default=None, help="Beams (authors: 60)."),
    click.option("--num-groups", type=int, default=None, help="Diverse beam groups (authors: 60)."),
    click.option("--diversity", type=float, default=None, help="Hamming diversity strength (authors: 0.5)."),
    click.option("--min-length", type=int, default=None, help="Minimum length, in the search's own units."),
    click.option("--max-length", type=int, default=None, help="Maximum length, in the search's own units."),
    click.option("--length-penalty", type=float, default=None, help="Length penalty exponent."),
)


def search_overrides(kw: dict) -> dict:
    """Pop the search flags out of a command's keyword arguments (they are SearchOptions field names)."""
    return {k: kw.pop(k) for k in SEARCH_FLAGS if k in kw}


def engine(f: Callable) -> Callable:
    """--engine, --workers and the Ray engine's flags, collected into one `engine` argument (an EngineSpec)."""
    f = _all(
        click.option("--engine", type=click.Choice(list(ENGINES)), default="local", show_default=True,
                     help="local: this process (or --workers processes); ray: Ray Data actors (pip install "
                          "'quals[ray]'), on a local Ray or the cluster at --address."),
        click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Scoring processes, each with its own copy of the model (same numbers as 1; threads "
                          "default to the cores shared out)."),
        click.option("--address", default=None, help="Ray: the cluster to connect to (default: start a local Ray)."),
        click.option("--actors", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Ray: scoring actors, each with its own copy of the model (a fixed-size pool)."),
        click.option("--cpus-per-actor", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Ray: CPUs reserved per actor, = its ONNX Runtime intra-op threads."),
        click.option("--ship-bundle", is_flag=True,
                     help="Ray: upload the bundle with the job (runtime_env working_dir) instead of loading it "
                          "from a path every node can read."),
    )(f)

    @functools.wraps(f)
    def wrapper(*args, engine, workers, address, actors, cpus_per_actor, ship_bundle, **kw):
        try:
            spec = EngineSpec(engine, workers, address, actors, cpus_per_actor, ship_bundle)
        except OptionsError as exc:
            raise click.UsageError(str(exc)) from exc
        return f(*args, engine=spec, **kw)

    return wrapper
