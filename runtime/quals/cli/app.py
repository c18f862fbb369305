"""The `quals` command group, its exit codes, and the one place where library errors become them.

Exit codes: 0 every record was scored (a summary without QA pairs is a result, not a failure);
1 some records could not be scored (each still has its output record, with status "error");
2 usage error; 3 the bundle or the execution provider cannot be used; 4 the export failed.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

import click

from .. import __version__
from ..errors import BundleError, ProviderError, QualsError
from ..run.pool import WorkerError

EXIT_RECORD_ERRORS, EXIT_USAGE, EXIT_BUNDLE, EXIT_EXPORT = 1, 2, 3, 4


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="quals")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """QUALS: factual consistency of summaries, scored with one QA-generation model on ONNX Runtime.

    Higher is more consistent. A score near 0 means the source supports the generated QA pairs as well as
    the summary does; very negative means they are likely given the summary but not given the source.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def note(message: str) -> None:
    """A line for the person running the command, on stderr."""
    click.echo(f"quals: {message}", err=True)


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def exit_codes(export: bool = False) -> Iterator[None]:
    """Library errors as messages and exit codes: a dead worker 1, the bundle or provider 3, an export 4
    (`export`), any other QualsError (options, input) 2."""
    try:
        yield
    except WorkerError as exc:
        fail(str(exc), EXIT_RECORD_ERRORS)
    except (BundleError, ProviderError) as exc:
        fail(str(exc), EXIT_EXPORT if export else EXIT_BUNDLE)
    except QualsError as exc:
        fail(str(exc), EXIT_EXPORT if export else EXIT_USAGE)


def progress_bar(length: int, label: str, shown: bool = True):
    """A progress bar on stderr, shown only on a terminal (and when `shown`)."""
    return click.progressbar(length=length, label=label, file=sys.stderr, hidden=not (shown and sys.stderr.isatty()))
