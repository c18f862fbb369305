"""`quals conseq`: option parsing and output; the job is quals.tasks.conseq."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import InputError
from ..result import STATUS_ERROR
from ..run.runner import batch_size_for
from ..tasks import conseq as cq
from ..tasks.resume import check_alignment, read_written
from . import options as o
from .app import EXIT_RECORD_ERRORS, exit_codes, main, note, progress_bar
from .records import run_on


def _threshold(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


@main.command()
@o.model
@click.option("--input", "input_", required=True, type=click.Path(dir_okay=False),
              help="JSONL of {id, source, reference, candidates: [str, ...]} records.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for scored.jsonl, report.json and the training files.")
@click.option("--neg-ratio", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="S-: documents whose worst candidate is in the lowest NEG_RATIO of all documents.")
@click.option("--pos-ratio", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="S+: documents whose reference is in the highest POS_RATIO of all documents.")
@click.option("--separate", is_flag=True,
              help="Write S+ and S- each on its own (not only the documents in both; then not aligned).")
@click.option("--resume", is_flag=True, help="Continue the scoring of a killed run in --out.")
@o.overwrite
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Summaries per scoring call, whole documents (default: about 4 calls per worker, at most 16: "
                   "every worker gets work; the numbers are the same).")
@o.provider
@o.threads
@click.option("--variant", type=click.Choice(list(o.VARIANTS)), default=None,
              help="Summary-side definition (default: the bundle's, paper: the authors' ConSeq used it).")
@o.max_pairs
@o.search
@o.engine
@o.progress
def conseq(model, input_, out_dir, neg_ratio, pos_ratio, separate, resume, overwrite, batch_size, provider,
           allow_cpu_fallback, threads, variant, max_pairs, engine, progress, **search_kw):
    """Build ConSeq's S+/S- training sets: score every reference and candidate, select by the authors' rules.

    Writes OUT/scored.jsonl (one line per document: every summary's score and status), OUT/train.source,
    train.target (S+: references) and train.untarget (S-: each document's worst candidate), aligned line by
    line, and OUT/report.json. See the README's ConSeq section.
    """
    out = Path(out_dir)
    scored_path = out / cq.SCORED_FILE
    if scored_path.exists() and not (resume or overwrite):
        raise click.UsageError(f"{scored_path} exists: --resume to continue that run, --overwrite to start again")
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite contradict each other")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(input_, "rb") as f:
            docs = list(cq.read_documents(f))
    except OSError as exc:
        raise click.UsageError(f"cannot read --input {input_} or create --out {out_dir}: {exc.strerror or exc}") \
            from exc
    done: list[dict] = []
    if resume:
        try:
            done = read_written(scored_path, "jsonl", None).records
            check_alignment(done, [{"id": d.id} for d in docs])
        except InputError as exc:
            raise click.UsageError(str(exc)) from exc
    # ConSeq ranks candidates by QUALS alone: the verdict mode's coverage pairs and verdicts would cost ~9% more
    # time and change nothing it writes
    overrides = dict(variant=variant, max_pairs=max_pairs, verdicts=False, **o.search_overrides(search_kw))
    n_summaries = sum(1 + len(d.candidates) for d in docs[len(done):] if d.error is None)
    batch_size = batch_size or batch_size_for(n_summaries, engine)
    with exit_codes(), run_on(model, engine, provider=provider, allow_cpu_fallback=allow_cpu_fallback,
                              threads=threads, details=False, batch_size=batch_size, **overrides) as run:
        click.echo(f"signature: {run.signature}", err=True)
        if resume:
            note(f"resuming {scored_path}: {len(done)} of {len(docs)} document(s) already scored")
        with progress_bar(n_summaries, "scoring", progress) as bar:
            try:
                sel, _, records = cq.build(run.runner, docs, out, signature=run.signature, done=done,
                                           neg_ratio=neg_ratio, pos_ratio=pos_ratio, separate=separate,
                                           batch_size=batch_size, progress=bar.update)
            except InputError as exc:
                raise click.UsageError(str(exc)) from exc
    for line in cq.empty_sets(sel, neg_ratio, pos_ratio, intersect=not separate):
        note(line)
    c = sel.counts
    click.echo(f"{c['documents']} documents: S- {c['negatives']} (k={sel.k_neg}, worst candidate <= "
               f"{_threshold(sel.threshold_neg)}), S+ {c['positives']} (k={sel.k_pos}, reference >= "
               f"{_threshold(sel.threshold_pos)}), used {c['used']}; files in {out}", err=True)
    n_err = sum(r.get("status") == STATUS_ERROR for r in records)
    if n_err:
        note(f"{n_err} document(s) unusable or with a summary that could not be scored (status: error; "
             f"see {scored_path})")
        sys.exit(EXIT_RECORD_ERRORS)
