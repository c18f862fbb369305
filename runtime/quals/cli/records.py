"""Reading a command's input records, and opening a run on the chosen engine, the same way for every command."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import click

from ..run.runner import EngineSpec, Run, open_runner
from ..tasks.io import read_numbered


def read_input(input_: str, fmt: str, flag: str = "--input") -> list:
    """Every record of `input_` (- is stdin); records that cannot be read are io.BadRecord, at their place."""
    return read_input_numbered(input_, fmt, flag)[0]


def read_input_numbered(input_: str, fmt: str, flag: str = "--input") -> tuple[list, list[int]]:
    """read_input, and each record's line number in the input."""
    if input_ == "-" and sys.stdin.isatty():
        click.echo("quals: reading records from stdin (end with Ctrl-D; --input FILE or --source-text/"
                   "--summary-text otherwise)", err=True)
    try:
        with click.open_file(input_, "rb") as stream:
            numbered = list(read_numbered(stream, fmt))
    except OSError as exc:
        raise click.UsageError(f"cannot read {flag} {input_}: {exc.strerror or exc}") from exc
    return [r for _, r in numbered], [n for n, _ in numbered]


@contextlib.contextmanager
def run_on(model: str | None, engine: EngineSpec, **kw) -> Iterator[Run]:
    """open_runner, with a missing optional engine (ray) reported as a usage error with its install hint."""
    try:
        with open_runner(model, engine, **kw) as run:
            yield run
    except ImportError as exc:
        if engine.engine != "ray":
            raise
        raise click.UsageError(str(exc)) from exc
