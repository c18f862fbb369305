"""`quals explain` and `quals generate`: looking inside one score, and at the search's raw output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..scorer import Scorer
from ..tasks import explain as ex
from ..tasks.io import guess_format
from . import options as o
from .app import EXIT_RECORD_ERRORS, exit_codes, main, note, progress_bar
from .records import read_input


@main.command()
@o.model
@click.option("--input", "input_", default=None, help="Input file of records (as `quals score` reads them).")
@o.input_format
@click.option("--source-text", default=None, help="Explain one pair: the source text.")
@click.option("--summary-text", default=None, help="Explain one pair: the summary text.")
@click.option("--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for one page per record (record-0001.html ...) and index.html.")
@click.option("--png", is_flag=True,
              help="Also write each record's per-pair chart as PNG (pip install 'quals[explain]').")
@o.provider
@o.threads
@o.variant
@o.max_pairs
@o.search
def explain(model, input_, fmt, source_text, summary_text, out_dir, png, provider, allow_cpu_fallback, threads,
            variant, max_pairs, **search_kw):
    """Show why each summary scored what it did: a self-contained HTML page per record (the pairs, sorted by
    how much they lowered the score, with per-token probabilities given the summary and given the source)."""
    if (source_text is None) != (summary_text is None):
        raise click.UsageError("--source-text and --summary-text go together")
    if (source_text is None) == (input_ is None):
        raise click.UsageError("give --input FILE, or --source-text and --summary-text")
    if png:
        try:
            import matplotlib  # noqa: F401
        except ImportError as exc:
            raise click.UsageError("--png needs matplotlib: pip install 'quals[explain]'") from exc
    records = ([{"source": source_text, "summary": summary_text}] if source_text is not None
               else read_input(input_, fmt or guess_format(input_)))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.UsageError(f"cannot create --output {out_dir}: {exc.strerror or exc}") from exc
    overrides = dict(variant=variant, max_pairs=max_pairs, **o.search_overrides(search_kw))
    with exit_codes():
        scorer = Scorer.load(model, provider, allow_cpu_fallback=allow_cpu_fallback, threads=threads, **overrides)
    with progress_bar(len(records), "explaining") as bar:
        n_pages, n_err = ex.write_pages(scorer, records, out, png=png, progress=bar.update)
    click.echo(f"wrote {n_pages} page(s) to {out}" + (" (open index.html)" if n_pages > 1 else ""), err=True)
    if n_err:
        note(f"{n_err} record(s) could not be scored (status: error; their pages say why)")
        sys.exit(EXIT_RECORD_ERRORS)


@main.command()
@o.model
@click.option("--text", required=True, help="The text to generate QA pairs from (a summary).")
@o.search
@click.option("--num-return", type=int, default=None, help="hf: num_return_sequences (default: num_beams).")
@o.provider
@click.option("--json", "as_json", is_flag=True, help="Print the hypotheses as JSON.")
def generate(model, text, num_return, provider, allow_cpu_fallback, as_json, **search_kw):
    """Run the search on TEXT and print every returned hypothesis (ids, text, scores)."""
    with exit_codes():
        scorer = Scorer.load(model, provider, allow_cpu_fallback=allow_cpu_fallback, **o.search_overrides(search_kw))
        overrides = {"num_return": num_return} if num_return is not None else {}
        hyps = scorer.generate(text, **overrides)
    rows = [{"rank": i, "tokens": list(h.tokens), "text": h.text, "score": h.score, "sum_score": h.sum_score,
             "token_scores": list(h.token_scores), "finished": h.finished} for i, h in enumerate(hyps)]
    if as_json:
        click.echo(json.dumps({"signature": scorer.signature(), "hypotheses": rows}, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            click.echo(f"{r['rank']:3d} {r['score']:9.4f}  {r['text']}")
