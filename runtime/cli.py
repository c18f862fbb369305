"""The `quals` command line. Thin: parse options, call the library, map its errors to exit codes.

Exit codes: 0 every record was scored (a summary without QA pairs is a result, not a failure);
1 some records could not be scored (each still has its output record, with status "error");
2 usage error; 3 the bundle or the execution provider cannot be used; 4 the export failed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.util
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from . import __version__
from .errors import BundleError, InputError, ProviderError, QualsError
from .io import (
    FORMATS,
    BadRecord,
    RecordWriter,
    UnwritableRecord,
    guess_format,
    json_line,
    open_output,
    read_records,
)
from .parallel import ScorerPool, WorkerError, threads_per_worker
from .resume import check_alignment, is_true, read_written
from .score import VARIANTS
from .scorer import STATUS_ERROR, Scorer, error_result

EXIT_RECORD_ERRORS, EXIT_BUNDLE, EXIT_EXPORT = 1, 3, 4
RESULT_FIELDS = (
    "quals",
    "n_pairs",
    "status",
    "error",
    "variant",
    "n_hypotheses",
    "n_span_valid",
    "source_tokens",
    "source_truncated",
    "summary_tokens",
    "summary_truncated",
)
TEXT_FIELDS = ("source", "summary")


def default_model() -> Path | None:
    """$QUALS_MODEL, else the shipped bundle: package data of the installed wheel (quals/default_model), or
    models/default of a source checkout (an editable install maps the package there)."""
    env = os.environ.get("QUALS_MODEL")
    if env:
        return Path(env)
    candidates: list[Path] = []
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("quals.default_model")
        if spec is not None and spec.submodule_search_locations:
            candidates += [Path(p) for p in spec.submodule_search_locations]
    candidates.append(Path(__file__).resolve().parent.parent / "models" / "default")
    return next((c for c in candidates if (c / "quals.json").is_file()), None)


def _model_path(model: str | None, flag: str = "--model") -> Path:
    if model:
        return Path(model)
    found = default_model()
    if found is None:
        raise click.UsageError(f"no {flag} given, $QUALS_MODEL is not set and no default bundle is installed "
                               "(reinstall quals: the wheel ships models/default)")
    return found


def _fail(exc: QualsError) -> None:
    click.echo(f"error: {exc}", err=True)
    code = EXIT_BUNDLE if isinstance(exc, (BundleError, ProviderError)) else 2
    sys.exit(code)


@contextlib.contextmanager
def _runner(model, provider: str, threads: int | None, workers: int, *, allow_cpu_fallback: bool = False,
            engine: dict | None = None, details: bool = True, batch_size: int = 16, **overrides):
    """(runner, signature, options): a Scorer, a pool of `workers` processes, or the Ray engine, all scoring
    with the same options (so with the same numbers).

    The bundle, provider and options are checked here, in this process, before any worker starts.
    """
    engine = engine or {"engine": "local"}
    path = _model_path(model)
    ray_engine = engine["engine"] == "ray"
    if ray_engine and workers > 1:
        raise click.UsageError("--workers is the local engine's; with --engine ray give --actors")
    local_threads = engine["cpus_per_actor"] if ray_engine else threads_per_worker(workers, threads)
    try:
        scorer = Scorer.load(path, provider, allow_cpu_fallback=allow_cpu_fallback, threads=local_threads,
                             **overrides)
    except QualsError as exc:
        _fail(exc)
    # The limit resolved (the bundle's unless given), so that messages can state it; the numbers are the same.
    options = dataclasses.replace(scorer.options, max_source_tokens=scorer.source_limit)
    signature = scorer.signature()
    if ray_engine:
        del scorer
        from .ray import RayRunner  # imports ray itself only when the runner starts

        try:
            runner = RayRunner(path, options, actors=engine["actors"], cpus_per_actor=engine["cpus_per_actor"],
                               provider=provider, address=engine["address"], details=details,
                               ship_bundle=engine["ship_bundle"], batch_size=batch_size)
        except ImportError as exc:  # no ray here: a usage error, with the install hint
            raise click.UsageError(str(exc)) from exc
        with runner:
            yield runner, signature, options
        return
    if workers <= 1:
        yield scorer, signature, options
        return
    del scorer  # the workers hold the sessions
    with ScorerPool(path, workers, options, provider=provider, allow_cpu_fallback=allow_cpu_fallback,
                    threads=threads) as pool:
        yield pool, signature, options


def engine_options(f):
    """--engine and the Ray engine's flags, collected into one `engine` dict argument."""
    opts = [
        click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: this process (or --workers processes); ray: Ray Data actors (pip install "
                          "'quals[ray]'), on a local Ray or the cluster at --address."),
        click.option("--address", default=None, help="Ray: the cluster to connect to (default: start a local Ray)."),
        click.option("--actors", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Ray: scoring actors, each with its own copy of the model (a fixed-size pool)."),
        click.option("--cpus-per-actor", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Ray: CPUs reserved per actor, = its ONNX Runtime intra-op threads."),
        click.option("--ship-bundle", is_flag=True,
                     help="Ray: upload the bundle with the job (runtime_env working_dir) instead of loading it "
                          "from a path every node can read."),
    ]
    for o in reversed(opts):
        f = o(f)

    def wrapper(*args, engine, address, actors, cpus_per_actor, ship_bundle, **kw):
        return f(*args, engine={"engine": engine, "address": address, "actors": actors,
                                "cpus_per_actor": cpus_per_actor, "ship_bundle": ship_bundle}, **kw)

    return functools.wraps(f)(wrapper)


def _worker_died(exc: WorkerError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(EXIT_RECORD_ERRORS)


WORKERS_HELP = ("Scoring processes, each with its own copy of the model (same numbers as 1; threads default to "
                "the cores shared out).")


def search_options(f):
    """The search flags shared by `score` and `generate` (None = the bundle's default)."""
    opts = [
        click.option("--search", type=click.Choice(["hf", "fairseq"]), default=None, help="Search semantics."),
        click.option("--num-beams", type=int, default=None, help="Beams (authors: 60)."),
        click.option("--num-groups", type=int, default=None, help="Diverse beam groups (authors: 60)."),
        click.option("--diversity", type=float, default=None, help="Hamming diversity strength (authors: 0.5)."),
        click.option("--min-length", type=int, default=None, help="Minimum length, in the search's own units."),
        click.option("--max-length", type=int, default=None, help="Maximum length, in the search's own units."),
        click.option("--length-penalty", type=float, default=None, help="Length penalty exponent."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


SEARCH_FLAGS = ("search", "num_beams", "num_groups", "diversity", "min_length", "max_length", "length_penalty")


def _search_overrides(kw: dict) -> dict:
    """Pop the search flags out of a command's keyword arguments (they are SearchOptions field names)."""
    return {k: kw.pop(k) for k in SEARCH_FLAGS if k in kw}


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


@main.command()
@click.option("--model", "model", default=None, help="Bundle directory (default: $QUALS_MODEL or the shipped model).")
@click.option("--input", "input_", default="-", show_default=True, help="Input file of records, or - for stdin.")
@click.option("--output", default="-", show_default=True, help="Output file, or - for stdout.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Input format (default: from the input's extension, else jsonl).",
)
@click.option(
    "--output-format",
    "out_fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format (default: from the output's extension, else jsonl; never from the input's).",
)
@click.option("--source-text", default=None, help="Score one pair: the source text.")
@click.option("--summary-text", default=None, help="Score one pair: the summary text.")
@click.option("--details", is_flag=True, help="Add the QA pairs with per-token log-probs to each record.")
@click.option("--drop-text", is_flag=True,
              help="Leave the input's source and summary out of the output records (ids and other fields stay).")
@click.option("--resume", is_flag=True,
              help="Continue an --output file that a killed run left: keep its whole records, score the rest.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Records per scoring call (summaries of one source share its encoding within a batch).",
)
@click.option("--provider", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--allow-cpu-fallback", is_flag=True, help="Run on CPU (with a warning) when CUDA cannot be used.")
@click.option("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: all cores).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help=WORKERS_HELP)
@click.option(
    "--variant",
    type=click.Choice(["paper", "clean", "ans_lm"]),
    default=None,
    help="Summary-side definition (default: the bundle's, paper).",
)
@click.option(
    "--max-pairs", type=int, default=None, help="Selection cap, checked between round-robin rounds (authors: 10)."
)
@click.option(
    "--max-source-tokens", type=int, default=None,
    help="Text tokens kept from a source or a summary (default and maximum: the bundle's limit).",
)
@search_options
@engine_options
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr (only on a terminal).")
@click.option("--signature", "show_signature", is_flag=True, help="Print the reproducibility signature on stderr.")
def score(
    model,
    input_,
    output,
    fmt,
    out_fmt,
    source_text,
    summary_text,
    details,
    drop_text,
    resume,
    batch_size,
    provider,
    allow_cpu_fallback,
    threads,
    workers,
    variant,
    max_pairs,
    max_source_tokens,
    progress,
    show_signature,
    engine,
    **search_kw,
):
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
        records = [{"source": source_text, "summary": summary_text}]
    else:
        records = _read_input(input_, fmt or guess_format(input_))
    fields = _output_fields(records, details, out_fmt, drop_text)
    done: list[dict] = []
    if resume:
        try:
            done = read_written(output, out_fmt, fields).records
            check_alignment(done, [r.fields if isinstance(r, BadRecord) else r for r in records])
        except (InputError, OSError) as exc:
            raise click.UsageError(str(exc)) from exc
    try:
        stream = open_output(output, append=resume)
    except OSError as exc:
        raise click.UsageError(f"cannot write --output {output}: {exc.strerror or exc}") from exc
    overrides = dict(variant=variant, max_pairs=max_pairs, max_source_tokens=max_source_tokens,
                     **_search_overrides(search_kw))
    tally = _Tally.of(done)
    todo = records[len(done):]
    with contextlib.closing(stream), _runner(model, provider, threads, workers, allow_cpu_fallback=allow_cpu_fallback,
                                             engine=engine, details=details, batch_size=batch_size,
                                             **overrides) as (runner, signature, options):
        if show_signature:
            click.echo(signature, err=True)
        if resume:
            click.echo(f"quals: resuming {output}: {len(done)} of {len(records)} record(s) already written", err=True)
        writer = RecordWriter(stream, out_fmt, fields=fields, header=not (resume and done))
        show_bar = progress and sys.stderr.isatty() and len(todo) > 1
        batches = [todo[lo : lo + batch_size] for lo in range(0, len(todo), batch_size)]
        good = [[r for r in b if not isinstance(r, BadRecord)] for b in batches]
        with click.progressbar(length=len(todo), label="scoring", file=sys.stderr, hidden=not show_bar) as bar:
            scored = runner.score_batches((([r["source"] for r in g], [r["summary"] for r in g]) for g in good),
                                          bar.update)
            try:
                for batch, results in zip(batches, scored):
                    results = iter(results)
                    for rec in batch:
                        if isinstance(rec, BadRecord):
                            result, passed = error_result(rec.reason, options.variant), rec.fields
                            bar.update(1)
                        else:
                            result, passed = next(results), rec
                        tally.add(_write_record(writer, passed, result, details, drop_text))
            except WorkerError as exc:
                _worker_died(exc)
            except BrokenPipeError:
                sys.stderr.write("quals: the output was closed before every record was written\n")
                sys.exit(EXIT_RECORD_ERRORS)
    tally.report(len(records), options.max_source_tokens)
    if tally.errors:
        sys.exit(EXIT_RECORD_ERRORS)


def _read_input(input_: str, fmt: str) -> list:
    if input_ == "-" and sys.stdin.isatty():
        click.echo("quals: reading records from stdin (end with Ctrl-D; --input FILE or --source-text/"
                   "--summary-text otherwise)", err=True)
    try:
        with click.open_file(input_, "rb") as stream:
            return list(read_records(stream, fmt))
    except OSError as exc:
        raise click.UsageError(f"cannot read --input {input_}: {exc.strerror or exc}") from exc


@dataclass
class _Tally:
    """What the run wrote, for the exit code and the closing lines on stderr (resumed records included)."""

    errors: int = 0
    source_cut: int = 0
    summary_cut: int = 0

    @classmethod
    def of(cls, written: list[dict]) -> _Tally:
        t = cls()
        for rec in written:
            t.add(rec)
        return t

    def add(self, rec: dict) -> None:
        self.errors += rec.get("status") == STATUS_ERROR
        self.source_cut += is_true(rec.get("source_truncated"))
        self.summary_cut += is_true(rec.get("summary_truncated"))

    def report(self, total: int, limit) -> None:
        if self.source_cut or self.summary_cut:
            click.echo(f"quals: truncated to the first {limit} tokens: the source of {self.source_cut} and the "
                       f"summary of {self.summary_cut} of {total} record(s) (source_truncated / "
                       "summary_truncated in each record); text past the cut was not scored", err=True)
        if self.errors:
            click.echo(f"quals: {self.errors} of {total} record(s) could not be scored (status: error)", err=True)


def _write_record(writer: RecordWriter, passed: dict, result, details: bool, drop_text: bool) -> dict:
    """Write one record; one that cannot be written becomes an error record (with the ids that can be)."""
    rec = _output_record(passed, result, details, drop_text)
    try:
        writer.write(rec)
        return rec
    except UnwritableRecord as exc:
        err = error_result(f"the result could not be written: {exc}", result.variant).to_dict()
        keep = {}
        for k, v in rec.items():
            if k not in err and k != "pairs":
                with contextlib.suppress(UnwritableRecord):
                    writer.format({k: v})
                    keep[k] = v
        fallback = {**keep, **err}
        writer.write(fallback)
        return fallback


@main.command()
@click.option("--model", "model", default=None, help="Bundle directory (default: $QUALS_MODEL or models/default).")
@click.option(
    "--benchmark",
    "benchmarks",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A JSONL file of {source, summary, label} records (origin splits the report); repeatable.",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    type=click.Choice(list(VARIANTS)),
    help="Variants to report, all from one scoring pass (default: paper and clean).",
)
@click.option("--label-kind", "kind", type=click.Choice(["binary", "graded"]), default=None,
              help="Metric family for every benchmark (default: the records' label_kind, else binary when "
                   "the labels are 0/1 only).")
@click.option("--limit", type=int, default=None, help="Score a seeded sample of N records per benchmark (stratified).")
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
@click.option("--provider", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: all cores).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help=WORKERS_HELP)
@click.option("--max-pairs", type=int, default=None, help="Selection cap (authors: 10).")
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr (only on a terminal).")
@search_options
@engine_options
def evaluate(model, benchmarks, variants, kind, limit, seed, n_resamples, json_out, scores_out, resume, reuse,
             provider, threads, workers, max_pairs, progress, engine, **search_kw):
    """Agreement of QUALS with human labels: a table per benchmark and per origin, with 95% bootstrap CIs.

    Binary labels get ROC-AUC and balanced accuracy (at the threshold that maximises it on the same data,
    reported in the JSON); graded labels get Pearson and Spearman. Records with no QA pair have no score:
    they are counted in no_pairs and left out of the metrics.
    """
    import time

    from . import evaluate as ev

    if limit is not None and limit < 1:
        raise click.UsageError("--limit must be >= 1")
    if resume and not scores_out:
        raise click.UsageError("--resume needs --scores FILE (the file a killed run left)")
    variants = list(variants) or ["paper", "clean"]
    for flag, target in (("--json", json_out), ("--scores", scores_out)):
        if target:  # found out now, not after the whole run
            try:
                open(target, "ab").close()
            except OSError as exc:
                raise click.UsageError(f"cannot write {flag} {target}: {exc.strerror or exc}") from exc
    try:
        sets = [ev.subsample(ev.load_benchmark(p), limit, seed) for p in benchmarks]
    except QualsError as exc:
        _fail(exc)
    records = [r for s in sets for r in s]
    overrides = dict(max_pairs=max_pairs, **_search_overrides(search_kw))
    with _runner(model, provider, threads, workers, engine=engine, **overrides) as (runner, signature, _):
        click.echo(f"signature: {signature}", err=True)
        try:
            done, on_disk, notes = ev.earlier_scores(records, variants, signature,
                                                     resume=scores_out if resume else None, reuse=reuse)
        except InputError as exc:
            raise click.UsageError(f"cannot reuse scores: {exc} (score afresh: leave out --resume/--reuse-scores, "
                                   "or remove the file)") from exc
        for note in notes:
            click.echo(note, err=True)
        stream = open(scores_out, "ab" if resume else "wb") if scores_out else None

        def write(s) -> None:
            if stream is not None and (s.record.benchmark, s.record.id) not in on_disk:
                stream.write(json_line(s.to_dict(signature)).encode("utf-8"))
                stream.flush()

        try:
            for i in sorted(done):
                write(done[i])
            t0 = time.perf_counter()
            show_bar = progress and sys.stderr.isatty()
            with click.progressbar(length=len(records) - len(done), label="scoring", file=sys.stderr,
                                   hidden=not show_bar) as bar:
                try:
                    scored = ev.score_records(runner, records, variants, progress=bar.update, done=done,
                                              on_scored=write)
                except WorkerError as exc:
                    _worker_died(exc)
            seconds = time.perf_counter() - t0
        finally:
            if stream is not None:
                stream.close()
    if scores_out and (done or resume):  # lines taken from elsewhere came first: the finished file in record order
        tmp = Path(str(scores_out) + ".tmp")
        tmp.write_bytes(b"".join(json_line(s.to_dict(signature)).encode("utf-8") for s in scored))
        tmp.replace(scores_out)
    try:
        rows = ev.report(scored, variants, n_resamples=n_resamples, seed=seed, kind=kind)
    except QualsError as exc:
        _fail(exc)
    click.echo(ev.format_table(rows))
    n_new = len(records) - len(done)
    click.echo(f"{n_new} records scored in {seconds:.0f} s ({seconds / max(1, n_new):.2f} s/record)"
               + (f", {len(done)} reused" if done else ""), err=True)
    if json_out:
        doc = {"signature": signature, "benchmarks": list(benchmarks), "limit": limit, "seed": seed,
               "bootstrap": n_resamples, "seconds": seconds, "workers": workers, "engine": engine,
               "n_scored": n_new, "n_reused": len(done), "rows": [r.to_dict() for r in rows]}
        Path(json_out).write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                                  encoding="utf-8", errors="backslashreplace")
    n_err = sum(s.status == STATUS_ERROR for s in scored)
    if n_err:
        click.echo(f"quals: {n_err} record(s) could not be scored (status: error)", err=True)
        sys.exit(EXIT_RECORD_ERRORS)


@main.command()
@click.option("--model", "model", default=None, help="Bundle directory (default: $QUALS_MODEL or the shipped model).")
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
@click.option("--overwrite", is_flag=True, help="Replace the files of an existing --out.")
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True,
              help="Summaries per scoring call (whole documents: a document's summaries share its encoding).")
@click.option("--provider", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: all cores).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help=WORKERS_HELP)
@click.option("--variant", type=click.Choice(list(VARIANTS)), default=None,
              help="Summary-side definition (default: the bundle's, paper: the authors' ConSeq used it).")
@click.option("--max-pairs", type=int, default=None, help="Selection cap (authors: 10).")
@search_options
@engine_options
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr (only on a terminal).")
def conseq(model, input_, out_dir, neg_ratio, pos_ratio, separate, resume, overwrite, batch_size, provider, threads,
           workers, variant, max_pairs, engine, progress, **search_kw):
    """Build ConSeq's S+/S- training sets: score every reference and candidate, select by the authors' rules.

    Writes OUT/scored.jsonl (one line per document: every summary's score and status), OUT/train.source,
    train.target (S+: references) and train.untarget (S-: each document's worst candidate), aligned line by
    line, and OUT/report.json. See the README's ConSeq section.
    """
    import time

    from . import conseq as cq

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
    overrides = dict(variant=variant, max_pairs=max_pairs, **_search_overrides(search_kw))
    t0 = time.perf_counter()
    todo = docs[len(done):]
    n_summaries = sum(1 + len(d.candidates) for d in todo if d.error is None)
    with _runner(model, provider, threads, workers, engine=engine, details=False, batch_size=batch_size,
                 **overrides) as (
        runner, signature, _
    ), open(scored_path, "ab" if resume else "wb", buffering=0) as stream:
        click.echo(f"signature: {signature}", err=True)
        if resume:
            click.echo(f"quals: resuming {scored_path}: {len(done)} of {len(docs)} document(s) already scored",
                       err=True)
        show_bar = progress and sys.stderr.isatty()
        with click.progressbar(length=n_summaries, label="scoring", file=sys.stderr, hidden=not show_bar) as bar:
            try:
                records = done + list(cq.write_scored(cq.score_documents(runner, todo, batch_size=batch_size,
                                                                         progress=bar.update), stream))
            except WorkerError as exc:
                _worker_died(exc)
    seconds = time.perf_counter() - t0
    try:
        sel = cq.select(records, neg_ratio, pos_ratio, intersect=not separate)
    except InputError as exc:
        raise click.UsageError(str(exc)) from exc
    files = cq.write_training_files(docs, sel, out, intersect=not separate)
    doc = cq.report(sel, files, signature=signature, neg_ratio=neg_ratio, pos_ratio=pos_ratio,
                    intersect=not separate, seconds=seconds)
    (out / cq.REPORT_FILE).write_text(json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n",
                                      encoding="utf-8")
    c = sel.counts
    click.echo(f"{c['documents']} documents: S- {c['negatives']} (k={sel.k_neg}, worst candidate <= "
               f"{_fmt(sel.threshold_neg)}), S+ {c['positives']} (k={sel.k_pos}, reference >= "
               f"{_fmt(sel.threshold_pos)}), used {c['used']}; files in {out}", err=True)
    n_err = sum(r.get("status") == STATUS_ERROR for r in records)
    if n_err:
        click.echo(f"quals: {n_err} document(s) unusable or with a summary that could not be scored (status: error; "
                   f"see {scored_path})", err=True)
        sys.exit(EXIT_RECORD_ERRORS)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


@main.command()
@click.option("--model", "model", default=None, help="Bundle directory (default: $QUALS_MODEL or the shipped model).")
@click.option("--input", "input_", default=None, help="Input file of records (as `quals score` reads them).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Input format (default: by extension).")
@click.option("--source-text", default=None, help="Explain one pair: the source text.")
@click.option("--summary-text", default=None, help="Explain one pair: the summary text.")
@click.option("--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Directory for one page per record (record-0001.html ...) and index.html.")
@click.option("--png", is_flag=True,
              help="Also write each record's per-pair chart as PNG (pip install 'quals[explain]').")
@click.option("--provider", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: all cores).")
@click.option("--variant", type=click.Choice(list(VARIANTS)), default=None, help="Summary-side definition.")
@click.option("--max-pairs", type=int, default=None, help="Selection cap (authors: 10).")
@search_options
def explain(model, input_, fmt, source_text, summary_text, out_dir, png, provider, threads, variant, max_pairs,
            **search_kw):
    """Show why each summary scored what it did: a self-contained HTML page per record (the pairs, sorted by
    how much they lowered the score, with per-token probabilities given the summary and given the source)."""
    from . import explain as ex

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
               else _read_input(input_, fmt or guess_format(input_)))
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.UsageError(f"cannot create --output {out_dir}: {exc.strerror or exc}") from exc
    overrides = dict(variant=variant, max_pairs=max_pairs, **_search_overrides(search_kw))
    try:
        scorer = Scorer.load(_model_path(model), provider, threads=threads, **overrides)
    except QualsError as exc:
        _fail(exc)
    entries, n_err = [], 0
    with click.progressbar(records, label="explaining", file=sys.stderr, hidden=not sys.stderr.isatty()) as bar:
        for n, rec in enumerate(bar, 1):
            if isinstance(rec, BadRecord):
                result, fields = error_result(rec.reason, scorer.options.variant), rec.fields
                src, summ = str(fields.get("source", "")), str(fields.get("summary", ""))
            else:
                src, summ, fields = rec["source"], rec["summary"], rec
                result = scorer.score_one(src, summ)
            n_err += result.status == STATUS_ERROR
            e = ex.from_result(result, src, summ, scorer)
            label = str(fields.get("id", n))
            name = f"record-{n:04d}.html"
            page = ex.render_html(e, title=f"QUALS explanation: {label}",
                                  index_href="index.html" if len(records) > 1 else None)
            (out / name).write_text(page, encoding="utf-8", errors="backslashreplace")
            if png:
                ex.render_png(e, out / f"record-{n:04d}.png")
            entries.append((name, label, e))
    if len(entries) > 1:
        (out / "index.html").write_text(ex.render_index(entries), encoding="utf-8", errors="backslashreplace")
    click.echo(f"wrote {len(entries)} page(s) to {out}" + (" (open index.html)" if len(entries) > 1 else ""),
               err=True)
    if n_err:
        click.echo(f"quals: {n_err} record(s) could not be scored (status: error; their pages say why)", err=True)
        sys.exit(EXIT_RECORD_ERRORS)


def _passes_through(key: str, drop_text: bool) -> bool:
    """An input field copied to the output record (result fields are the scorer's, never the input's)."""
    return key not in RESULT_FIELDS and key != "pairs" and not (drop_text and key in TEXT_FIELDS)


def _output_fields(records, details: bool, fmt: str, drop_text: bool = False) -> list[str] | None:
    if fmt == "jsonl":
        return None
    passthrough: list[str] = []
    for r in records:
        for k in r.fields if isinstance(r, BadRecord) else r:
            if k not in passthrough and _passes_through(k, drop_text):
                passthrough.append(k)
    return passthrough + list(RESULT_FIELDS) + (["pairs"] if details else [])


def _output_record(fields: dict, result, details: bool, drop_text: bool = False) -> dict:
    rec = {k: v for k, v in fields.items() if _passes_through(k, drop_text)}
    rec.update(result.to_dict(details=details))
    return rec


@main.command()
@click.option("--model", "model", default=None, help="Bundle directory (default: $QUALS_MODEL or models/default).")
@click.option("--text", required=True, help="The text to generate QA pairs from (a summary).")
@search_options
@click.option("--num-return", type=int, default=None, help="hf: num_return_sequences (default: num_beams).")
@click.option("--provider", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the hypotheses as JSON.")
def generate(model, text, num_return, provider, as_json, **search_kw):
    """Run the search on TEXT and print every returned hypothesis (ids, text, scores)."""
    try:
        scorer = Scorer.load(_model_path(model), provider, **_search_overrides(search_kw))
        overrides = {"num_return": num_return} if num_return is not None else {}
        hyps = scorer.generate(text, **overrides)
    except QualsError as exc:
        _fail(exc)
    rows = [
        {
            "rank": i,
            "tokens": list(h.tokens),
            "text": h.text,
            "score": h.score,
            "sum_score": h.sum_score,
            "token_scores": list(h.token_scores),
            "finished": h.finished,
        }
        for i, h in enumerate(hyps)
    ]
    if as_json:
        click.echo(json.dumps({"signature": scorer.signature(), "hypotheses": rows}, ensure_ascii=False, indent=1))
    else:
        for r in rows:
            click.echo(f"{r['rank']:3d} {r['score']:9.4f}  {r['text']}")


EXPORT_MODULES = ("torch", "transformers", "optimum", "onnx")  # what `quals export` imports
QUANTIZE_MODULES = ("optimum", "onnx")


def _missing_extra(command: str, modules: str) -> None:
    click.echo(f"error: quals {command} needs the export extra, and {modules} is not installed here: "
               "pip install torch==2.13.0 && pip install 'quals[export]' (torch first: the CPU wheel)", err=True)
    sys.exit(EXIT_EXPORT)


def _require_export_extra(command: str, modules: tuple[str, ...]) -> None:
    """Fail with the install hint (exit 4) before any work, not with a ModuleNotFoundError half-way."""
    missing = []
    for m in modules:
        try:
            found = importlib.util.find_spec(m) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(m)
    if missing:
        _missing_extra(command, ", ".join(missing))


@main.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option(
    "--separator",
    default=None,
    help="The QA separator token (default: the first of ĠstrutConnector, <sep>, [SEP] in the vocabulary).",
)
@click.option(
    "--max-source-tokens",
    type=int,
    default=None,
    help="Text tokens kept from a source (default BART: positions - 2; T5: 511).",
)
@click.option(
    "--decoder",
    type=click.Choice(["merged", "split"]),
    default="merged",
    show_default=True,
    help="One merged decoder file, or decoder + decoder_with_past.",
)
@click.option(
    "--atol", type=float, default=1e-3, show_default=True, help="Largest allowed |log p(ORT) - log p(PyTorch)|."
)
@click.option("--overwrite", is_flag=True, help="Replace the files of an existing OUT.")
def export(src, out, separator, max_source_tokens, decoder, atol, overwrite):
    """Export the HF checkpoint SRC (BART or T5 family) to the bundle OUT, validated against PyTorch."""
    _require_export_extra("export", EXPORT_MODULES)
    from quals.export import export_bundle

    try:
        manifest = export_bundle(
            src,
            out,
            separator=separator,
            max_source_tokens=max_source_tokens,
            decoder=decoder,
            atol=atol,
            overwrite=overwrite,
        )
    except QualsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_EXPORT)
    except ImportError as exc:
        _missing_extra("export", exc.name or str(exc))
    v = manifest.validation
    click.echo(
        f"exported {src} -> {out} ({manifest.family}, opset {manifest.onnx.opset}); "
        f"max |log p(ORT) - log p(PyTorch)| = {v['max_abs_logprob_diff']:.3g} (atol {v['atol']:g})"
    )


@main.command("import-fairseq")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--dict", "dict_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The checkpoint's fairseq dictionary (dict.txt).")
@click.option("--bpe-dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Where GPT-2's encoder.json and vocab.bpe are (default: dict.txt's directory).")
@click.option("--overwrite", is_flag=True, help="Replace the files of an existing OUT.")
def import_fairseq_cmd(checkpoint, out, dict_path, bpe_dir, overwrite):
    """Turn a fairseq 0.9 BART checkpoint (the QUALS authors' QAGen format) into the HF checkpoint OUT.

    Then `quals export OUT BUNDLE` makes the bundle (the strutConnector separator is found by itself).
    Loading runs no code from the file. See docs/fairseq.md.
    """
    _require_export_extra("import-fairseq", ("torch", "transformers"))
    from quals.export.fairseq_import import import_fairseq

    try:
        path = import_fairseq(checkpoint, dict_path, out, bpe_dir=bpe_dir, overwrite=overwrite)
    except QualsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_EXPORT)
    click.echo(f"imported {checkpoint} -> {path} (Hugging Face BART); next: quals export {path} BUNDLE")


@main.command("rebuild-hf")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace the files of an existing OUT.")
def rebuild_hf_cmd(bundle, out, overwrite):
    """Write the Hugging Face checkpoint (BART) that BUNDLE computes with to OUT, e.g. to fine-tune it.

    Weights are the fp32 values of what the bundle stores; the rebuilt model's log-probs are checked
    against the bundle's before anything is written.
    """
    _require_export_extra("rebuild-hf", ("torch", "transformers", "onnx"))
    from quals.export.hf_rebuild import rebuild_checkpoint

    try:
        path = rebuild_checkpoint(bundle, out, overwrite=overwrite)
    except QualsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_EXPORT)
    click.echo(f"rebuilt {bundle} -> {path} (Hugging Face BART)")


@main.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--method", type=click.Choice(["fp16-weights", "weight-int8", "dynamic-int8"]), default="fp16-weights",
              show_default=True,
              help="fp16-weights: weights stored as fp16 (int8 where --int8-nodes says) in one shared file, "
                   "restored to fp32 when the session loads. weight-int8: 8-bit weights in blocks, int8 compute "
                   "(needs onnxruntime >= 1.22). dynamic-int8: int8 weights per channel, activations quantised "
                   "per call.")
@click.option("--block-size", type=int, default=None,
              help="Values per scale of int8 weights, a power of two >= 16 (default 16); not for dynamic-int8.")
@click.option("--int8-nodes", default=None, metavar="REGEX",
              help="fp16-weights only: store the weights of the nodes whose '<encoder|decoder>:<node name>' "
                   "matches REGEX as int8 blocks, e.g. 'encoder:/layers\\.\\d+/self_attn/[qk]_proj/'.")
@click.option("--overwrite", is_flag=True, help="Replace the files of an existing OUT.")
def quantize(src, out, method, block_size, int8_nodes, overwrite):
    """Write a smaller copy of the fp32 bundle SRC (exported with --decoder split) to OUT, merged decoder."""
    _require_export_extra("quantize", QUANTIZE_MODULES)
    from quals.export import quantize_bundle

    try:
        manifest = quantize_bundle(src, out, method=method, block_size=block_size, int8_nodes=int8_nodes,
                                   overwrite=overwrite)
    except QualsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_EXPORT)
    except ImportError as exc:
        _missing_extra("quantize", exc.name or str(exc))
    diff = manifest.validation["vs_fp32_max_abs_logprob_diff"]
    mean = manifest.validation["vs_fp32_mean_abs_logprob_diff"]
    click.echo(f"quantized {src} -> {out} ({method}); |log p - log p(fp32)|: max {diff:.3g}, mean {mean:.3g}")


@main.command()
@click.argument("bundle", required=False)
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Name recorded in the vectors (default: the bundle directory's name).")
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr.")
def conformance(bundle, out, name, progress):
    """Write OUT/vectors.json: every intermediate value of scoring a fixed set of records with BUNDLE
    (one thread), for Java/C# hosts to reproduce. See docs/hosts.md."""
    from .conformance import CASES, vectors
    from .search import SEARCHES

    path = _model_path(bundle, "BUNDLE")
    try:
        scorer = Scorer.load(path, threads=1)
    except QualsError as exc:
        _fail(exc)
    rel = os.path.relpath(path.resolve(), Path.cwd())
    with click.progressbar(length=len(CASES) * len(SEARCHES), label="conformance", file=sys.stderr,
                           hidden=not progress) as bar:
        doc = vectors(scorer, name=name or path.resolve().name, bundle_path=rel, progress=bar.update)
    Path(out).mkdir(parents=True, exist_ok=True)
    target = Path(out) / "vectors.json"
    target.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(f"wrote {target} ({len(doc['cases'])} cases; coverage {json.dumps(doc['coverage'])})")


@main.command()
@click.argument("bundle", required=False)
@click.option("--no-verify", is_flag=True, help="Skip the sha256 check.")
def info(bundle, no_verify):
    """Print a bundle's manifest, file sizes and the execution providers available here."""
    import onnxruntime as ort

    from .bundle import load_bundle

    try:
        b = load_bundle(_model_path(bundle, "BUNDLE"), verify=not no_verify)
    except QualsError as exc:
        _fail(exc)
    files = {name: (b.path / name).stat().st_size for name in b.manifest.sha256}
    click.echo(
        json.dumps(
            {
                "path": str(b.path),
                "verified": not no_verify,
                "files": files,
                "total_bytes": sum(files.values()),
                "providers_available": ort.get_available_providers(),
                "onnxruntime": ort.__version__,
                "manifest": json.loads(b.manifest.to_json()),
            },
            indent=1,
            ensure_ascii=False,
        )
    )
