"""`quals score`: option parsing and output; the job is quals.tasks.score_file."""

from __future__ import annotations

import contextlib
import sys

import click

from ..errors import InputError
from ..run.pool import WorkerError
from ..tasks.io import BadRecord, OutputFile, RecordWriter, guess_format, open_output
from ..tasks.resume import check_alignment, read_written
from ..tasks.score_file import Tally, output_fields, score_into
from . import options as o
from .app import EXIT_RECORD_ERRORS, exit_codes, main, note
from .records import read_input_numbered, run_on


@main.command()
@o.model
@click.option("--input", "input_", default="-", show_default=True, help="Input file of records, or - for stdin.")
@click.option("--output", default="-", show_default=True,
              help="Output file, or - for stdout. Records go to OUTPUT.partial as they are scored, renamed to "
                   "OUTPUT when the run ends: a run that fails or is killed leaves an existing OUTPUT as it was.")
@o.input_format
@click.option("--output-format", "out_fmt", type=click.Choice(o.FORMATS), default=None,
              help="Output format (default: from the output's extension, else jsonl; never from the input's).")
@click.option("--source-text", default=None, help="Score one pair: the source text.")
@click.option("--summary-text", default=None, help="Score one pair: the summary text.")
@click.option("--details", is_flag=True, help="Add the QA pairs with per-token log-probs to each record.")
@click.option("--drop-text", is_flag=True,
              help="Leave the input's source and summary out of the output records (ids and other fields stay).")
@click.option("--resume", is_flag=True,
              help="Continue what a killed run left (OUTPUT.partial, else OUTPUT): keep its whole records, score the "
                   "rest.")
@o.batch_size
@o.provider
@o.threads
@o.variant
@o.max_pairs
@o.max_source_tokens
@o.source_windows
@o.verdicts
@o.coverage_pairs
@o.search
@o.engine
@o.progress
@click.option("--signature", "show_signature", is_flag=True, help="Print the reproducibility signature on stderr.")
def score(model, input_, output, fmt, out_fmt, source_text, summary_text, details, drop_text, resume, batch_size,
          provider, allow_cpu_fallback, threads, variant, max_pairs, max_source_tokens, source_windows, verdicts,
          coverage_pairs, progress, show_signature, engine, **search_kw):
    """Score summaries against their sources: one output record per input record, in order.

    Input records carry `source` and `summary`; other fields (ids) are passed through. Each output record
    has `quals` (null when there is no score), `n_pairs`, `status` (ok, no_qa_pairs, error) and `error`.
    """
    if (source_text is None) != (summary_text is None):
        raise click.UsageError("--source-text and --summary-text go together")
    if resume and output == "-":
        raise click.UsageError("--resume needs --output FILE (the file a killed run left)")
    out_fmt = out_fmt or guess_format(output)
    if source_text is not None:
        records, lines = [{"source": source_text, "summary": summary_text}], [None]
    else:
        records, lines = read_input_numbered(input_, fmt or guess_format(input_))
    if not records:
        note(f"{'stdin' if input_ == '-' else input_} holds no records: nothing to score")
    fields = output_fields(records, details, out_fmt, drop_text)
    try:
        stream = open_output(output, append=resume)
    except OSError as exc:
        raise click.UsageError(f"cannot write --output {exc.filename or output}: {exc.strerror or exc}") from exc
    done: list[dict] = []
    if resume:
        try:
            done = read_written(stream.writing, out_fmt, fields).records
            check_alignment(done, [r.fields if isinstance(r, BadRecord) else r for r in records])
        except (InputError, OSError) as exc:
            raise click.UsageError(str(exc)) from exc
    overrides = dict(variant=variant, max_pairs=max_pairs, max_source_tokens=max_source_tokens,
                     source_windows=source_windows, verdicts=verdicts,
                     coverage_pairs=coverage_pairs,
                     **o.search_overrides(search_kw))
    tally = Tally.of(done)
    todo = records[len(done):]
    with exit_codes(), contextlib.closing(stream), run_on(
            model, engine, provider=provider, allow_cpu_fallback=allow_cpu_fallback, threads=threads,
            details=details, batch_size=batch_size, **overrides) as run:
        if show_signature:
            click.echo(run.signature, err=True)
        if resume:
            note(f"resuming {stream.writing}: {len(done)} of {len(records)} record(s) already written")
        writer = RecordWriter(stream, out_fmt, fields=fields, header=not (resume and done))
        show_bar = progress and sys.stderr.isatty() and len(todo) > 1
        with click.progressbar(length=len(todo), label="scoring", file=sys.stderr, hidden=not show_bar) as bar:
            try:
                score_into(run.runner, todo, writer, tally, variant=run.options.variant, details=details,
                           drop_text=drop_text, batch_size=batch_size, lines=lines[len(done):], progress=bar.update)
            except BrokenPipeError:
                note("the output was closed before every record was written")
                sys.exit(EXIT_RECORD_ERRORS)
            except WorkerError:
                if isinstance(stream, OutputFile):
                    note(f"the {tally.written} record(s) written so far are in {stream.writing}: --resume continues")
                raise
        if isinstance(stream, OutputFile):
            stream.commit()  # every record written (some may be errors): the output is complete
    for line in tally.notes(len(records), run.options.max_source_tokens):
        note(line)
    if tally.errors:
        sys.exit(EXIT_RECORD_ERRORS)
