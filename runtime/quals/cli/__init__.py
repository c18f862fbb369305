"""The `quals` command line: option parsing and output only; the jobs are in quals.tasks, the engines in
quals.run, and library errors become exit codes in one place (app.exit_codes).

One module per command family: score, evaluate, conseq, explain (and generate), bundles (info, conformance),
export (the export extra's commands), serve (the serve extra's service); options holds the options they share.
"""

from . import bundles, conseq, evaluate, explain, export, score, serve  # noqa: F401  (each registers its commands)
from .app import main

__all__ = ["main"]
