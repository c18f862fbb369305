"""`quals evaluate`: option parsing and output; the job is quals.tasks.evaluate."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import click

from ..errors import InputError
from ..result import STATUS_ERROR
from ..score import VARIANTS
from ..tasks import evaluate as ev
from . import options as o
from .app import EXIT_RECORD_ERRORS, exit_codes, main, note, progress_bar
from .records import run_on


@main.command()
@o.model
@click.option("--benchmark", "benchmarks", multiple=True, required=True, type=click.Path(exists=True, dir_okay=False),
              help="A JSONL file of {source, summary, label} records (origin splits the report); repeatable.")
@click.option("--variant", "variants", multiple=True, type=click.Choice(list(VARIANTS)),
              help="Variants to report, all from one scoring pass (default: paper and clean).")
@click.option("--label-kind", "kind", type=click.Choice(list(ev.KINDS)), default=None,
              help="Metric family for every benchmark (default: the records' label_kind, else binary when "
                   "the labels are 0/1 only).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Score a seeded sample of N records per benchmark (stratified).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample and the bootstrap.")
@click.option("--bootstrap", "n_resamples", type=int, default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--json", "json_out", default=None, help="Write the report (rows, signature, timing) as JSON here.")
@click.option("--scores", "scores_out", default=None,
              help="Write one JSONL line per scored record here, each as soon as it is scored (in record order "
                   "once the run ends).")
@click.option("--resume", is_flag=True,
              help="Continue a killed run: the records already in --scores (same signature) are not scored again.")
@click.option("--reuse-scores", "reuse", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Take the records found in this --scores file of an earlier run with the same signature (e.g. "
                   "the whole sets' run for a sample of them) instead of scoring them; repeatable.")
@o.provider
@o.threads
@o.max_pairs
@o.source_windows
@o.verdicts
@o.progress
@o.search
@o.engine
def evaluate(model, benchmarks, variants, kind, limit, seed, n_resamples, json_out, scores_out, resume, reuse,
             provider, allow_cpu_fallback, threads, max_pairs, source_windows, verdicts, progress, engine,
             **search_kw):
    """Agreement of QUALS with human labels: a table per benchmark and per origin, with 95% bootstrap CIs.

    Binary labels get ROC-AUC and balanced accuracy (at the threshold that maximises it on the same data,
    reported in the JSON); graded labels get Pearson and Spearman. Records with no QA pair have no score:
    they are counted in no_pairs and left out of the metrics. With a calibration beside the bundle (the
    verdict mode) a p_consistent row follows, with the verdicts' balanced accuracy (uncertain counted wrong),
    the share of uncertain, and each side's precision and recall in the JSON.
    """
    if resume and not scores_out:
        raise click.UsageError("--resume needs --scores FILE (the file a killed run left)")
    variants = list(variants) or ["paper", "clean"]
    for flag, target in (("--json", json_out), ("--scores", scores_out)):
        if target:  # found out now, not after the whole run
            try:
                open(target, "ab").close()
            except OSError as exc:
                raise click.UsageError(f"cannot write {flag} {target}: {exc.strerror or exc}") from exc
    with exit_codes():
        sets = [ev.subsample(ev.load_benchmark(p), limit, seed) for p in benchmarks]
    records = [r for s in sets for r in s]
    overrides = dict(max_pairs=max_pairs, source_windows=source_windows, verdicts=verdicts,
                     **o.search_overrides(search_kw))
    with exit_codes(), run_on(model, engine, provider=provider, allow_cpu_fallback=allow_cpu_fallback,
                              threads=threads, **overrides) as run:
        click.echo(f"signature: {run.signature}", err=True)
        t0 = time.perf_counter()
        with progress_bar(len(records), "scoring", progress) as bar:
            try:
                scored, n_reused = ev.score_with_file(run.runner, records, variants, run.signature,
                                                      scores_path=scores_out, resume=resume, reuse=reuse,
                                                      progress=bar.update, note=lambda s: click.echo(s, err=True))
            except InputError as exc:
                raise click.UsageError(f"cannot reuse scores: {exc} (score afresh: leave out --resume/"
                                       "--reuse-scores, or remove the file)") from exc
        seconds = time.perf_counter() - t0
    with exit_codes():
        rows = ev.report(scored, variants, n_resamples=n_resamples, seed=seed, kind=kind)
    click.echo(ev.format_table(rows))
    for r in rows:
        if r.note:
            note(f"{r.benchmark} / {r.origin} / {r.variant}: {r.note}")
    n_new = len(records) - n_reused
    click.echo(f"{n_new} records scored in {seconds:.0f} s ({seconds / max(1, n_new):.2f} s/record)"
               + (f", {n_reused} reused" if n_reused else ""), err=True)
    if json_out:
        doc = ev.report_document(rows, signature=run.signature, benchmarks=benchmarks, limit=limit, seed=seed,
                                 n_resamples=n_resamples, seconds=seconds, engine=dataclasses.asdict(engine),
                                 n_scored=n_new, n_reused=n_reused)
        Path(json_out).write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                                  encoding="utf-8", errors="backslashreplace")
    n_err = sum(s.status == STATUS_ERROR for s in scored)
    if n_err:
        note(f"{n_err} record(s) could not be scored (status: error)")
        sys.exit(EXIT_RECORD_ERRORS)
