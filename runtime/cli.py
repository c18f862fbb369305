"""The `quals` command line. Thin: parse options, call the library, map its errors to exit codes.

Exit codes: 0 every record was scored (a summary without QA pairs is a result, not a failure);
1 some records could not be scored (each still has its output record, with status "error");
2 usage error; 3 the bundle or the execution provider cannot be used; 4 the export failed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path

import click

from . import __version__
from .errors import BundleError, ProviderError, QualsError
from .io import FORMATS, BadRecord, RecordWriter, guess_format, read_records
from .parallel import ScorerPool, WorkerError, threads_per_worker
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


def default_model() -> Path | None:
    """$QUALS_MODEL, else the bundle shipped in the repository's models/default."""
    env = os.environ.get("QUALS_MODEL")
    if env:
        return Path(env)
    shipped = Path(__file__).resolve().parent.parent / "models" / "default"
    return shipped if (shipped / "quals.json").is_file() else None


def _model_path(model: str | None) -> Path:
    if model:
        return Path(model)
    found = default_model()
    if found is None:
        raise click.UsageError("no --model given, $QUALS_MODEL is not set and no default bundle is installed")
    return found


def _fail(exc: QualsError) -> None:
    click.echo(f"error: {exc}", err=True)
    code = EXIT_BUNDLE if isinstance(exc, (BundleError, ProviderError)) else 2
    sys.exit(code)


@contextlib.contextmanager
def _runner(model, provider: str, threads: int | None, workers: int, *, allow_cpu_fallback: bool = False, **overrides):
    """(runner, signature, options): a Scorer, or a pool of `workers` processes scoring with the same options.

    The bundle, provider and options are checked here, in this process, before any worker starts.
    """
    path = _model_path(model)
    try:
        scorer = Scorer.load(path, provider, allow_cpu_fallback=allow_cpu_fallback,
                             threads=threads_per_worker(workers, threads), **overrides)
    except QualsError as exc:
        _fail(exc)
    signature, options = scorer.signature(), scorer.options
    if workers <= 1:
        yield scorer, signature, options
        return
    del scorer  # the workers hold the sessions
    with ScorerPool(path, workers, options, provider=provider, allow_cpu_fallback=allow_cpu_fallback,
                    threads=threads) as pool:
        yield pool, signature, options


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
@click.option("--model", "model", default=None, help="Bundle directory (default: $QUALS_MODEL or models/default).")
@click.option("--input", "input_", default="-", show_default=True, help="Input file of records, or - for stdin.")
@click.option("--output", default="-", show_default=True, help="Output file, or - for stdout.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Input/output format (default: from the input's extension, else jsonl).",
)
@click.option("--source-text", default=None, help="Score one pair: the source text.")
@click.option("--summary-text", default=None, help="Score one pair: the summary text.")
@click.option("--details", is_flag=True, help="Add the QA pairs with per-token log-probs to each record.")
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
    "--max-source-tokens", type=int, default=None, help="Text tokens kept from a source (default: the bundle's limit)."
)
@search_options
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr (only on a terminal).")
@click.option("--signature", "show_signature", is_flag=True, help="Print the reproducibility signature on stderr.")
def score(
    model,
    input_,
    output,
    fmt,
    source_text,
    summary_text,
    details,
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
    **search_kw,
):
    """Score summaries against their sources: one output record per input record, in order.

    Input records carry `source` and `summary`; other fields (ids) are passed through. Each output record
    has `quals` (null when there is no score), `n_pairs`, `status` (ok, no_qa_pairs, error) and `error`.
    """
    if (source_text is None) != (summary_text is None):
        raise click.UsageError("--source-text and --summary-text go together")
    if source_text is not None:
        records = [{"source": source_text, "summary": summary_text}]
        fmt = fmt or "jsonl"
    else:
        fmt = fmt or guess_format(input_)
        with click.open_file(input_, "rb") as stream:
            records = list(read_records(stream, fmt))
    overrides = dict(variant=variant, max_pairs=max_pairs, max_source_tokens=max_source_tokens,
                     **_search_overrides(search_kw))
    n_errors = 0
    with _runner(model, provider, threads, workers, allow_cpu_fallback=allow_cpu_fallback, **overrides) as (
        runner, signature, options
    ), click.open_file(output, "w", encoding="utf-8", lazy=False) as out:
        if show_signature:
            click.echo(signature, err=True)
        writer = RecordWriter(out, fmt, fields=_output_fields(records, details, fmt))
        show_bar = progress and sys.stderr.isatty() and len(records) > 1
        batches = [records[lo : lo + batch_size] for lo in range(0, len(records), batch_size)]
        good = [[r for r in b if not isinstance(r, BadRecord)] for b in batches]
        with click.progressbar(length=len(records), label="scoring", file=sys.stderr, hidden=not show_bar) as bar:
            scored = runner.score_batches((([r["source"] for r in g], [r["summary"] for r in g]) for g in good),
                                          bar.update)
            try:
                for batch, results in zip(batches, scored):
                    results = iter(results)
                    for rec in batch:
                        if isinstance(rec, BadRecord):
                            result, fields = error_result(rec.reason, options.variant), rec.fields
                            bar.update(1)
                        else:
                            result, fields = next(results), rec
                        n_errors += result.status == STATUS_ERROR
                        writer.write(_output_record(fields, result, details))
            except WorkerError as exc:
                _worker_died(exc)
    if n_errors:
        click.echo(f"quals: {n_errors} of {len(records)} record(s) could not be scored (status: error)", err=True)
        sys.exit(EXIT_RECORD_ERRORS)


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
@click.option("--limit", type=int, default=None, help="Score a seeded sample of N records per benchmark (stratified).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample and the bootstrap.")
@click.option("--bootstrap", "n_resamples", type=int, default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--json", "json_out", default=None, help="Write the report (rows, signature, timing) as JSON here.")
@click.option("--scores", "scores_out", default=None, help="Write one JSONL line per scored record here.")
@click.option("--provider", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", type=int, default=None, help="ONNX Runtime intra-op threads (default: all cores).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help=WORKERS_HELP)
@click.option("--max-pairs", type=int, default=None, help="Selection cap (authors: 10).")
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr (only on a terminal).")
@search_options
def evaluate(model, benchmarks, variants, limit, seed, n_resamples, json_out, scores_out, provider, threads,
             workers, max_pairs, progress, **search_kw):
    """Agreement of QUALS with human labels: a table per benchmark and per origin, with 95% bootstrap CIs.

    Binary labels get ROC-AUC and balanced accuracy (at the threshold that maximises it on the same data,
    reported in the JSON); graded labels get Pearson and Spearman. Records with no QA pair have no score:
    they are counted in no_pairs and left out of the metrics.
    """
    import time

    from . import evaluate as ev

    if limit is not None and limit < 1:
        raise click.UsageError("--limit must be >= 1")
    variants = list(variants) or ["paper", "clean"]
    try:
        sets = [ev.subsample(ev.load_benchmark(p), limit, seed) for p in benchmarks]
    except QualsError as exc:
        _fail(exc)
    records = [r for s in sets for r in s]
    overrides = dict(max_pairs=max_pairs, **_search_overrides(search_kw))
    with _runner(model, provider, threads, workers, **overrides) as (runner, signature, _):
        click.echo(f"signature: {signature}", err=True)
        t0 = time.perf_counter()
        show_bar = progress and sys.stderr.isatty()
        with click.progressbar(length=len(records), label="scoring", file=sys.stderr, hidden=not show_bar) as bar:
            try:
                scored = ev.score_records(runner, records, variants, progress=bar.update)
            except WorkerError as exc:
                _worker_died(exc)
        seconds = time.perf_counter() - t0
    rows = ev.report(scored, variants, n_resamples=n_resamples, seed=seed)
    click.echo(ev.format_table(rows))
    click.echo(f"{len(records)} records in {seconds:.0f} s ({seconds / max(1, len(records)):.2f} s/record)", err=True)
    if json_out:
        doc = {"signature": signature, "benchmarks": list(benchmarks), "limit": limit, "seed": seed,
               "bootstrap": n_resamples, "seconds": seconds, "workers": workers, "rows": [r.to_dict() for r in rows]}
        Path(json_out).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if scores_out:
        with open(scores_out, "w", encoding="utf-8") as f:
            for s in scored:
                f.write(json.dumps(s.to_dict(), ensure_ascii=False) + "\n")
    n_err = sum(s.status == STATUS_ERROR for s in scored)
    if n_err:
        click.echo(f"quals: {n_err} record(s) could not be scored (status: error)", err=True)
        sys.exit(EXIT_RECORD_ERRORS)


def _output_fields(records, details: bool, fmt: str) -> list[str] | None:
    if fmt == "jsonl":
        return None
    passthrough: list[str] = []
    for r in records:
        for k in r.fields if isinstance(r, BadRecord) else r:
            if k not in passthrough and k not in RESULT_FIELDS:
                passthrough.append(k)
    return passthrough + list(RESULT_FIELDS) + (["pairs"] if details else [])


def _output_record(fields: dict, result, details: bool) -> dict:
    rec = {k: v for k, v in fields.items() if k not in RESULT_FIELDS and k != "pairs"}
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
            "text": scorer.codec.tokenizer.decode(list(h.tokens), skip_special_tokens=False),
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
    try:
        from quals.export import export_bundle
    except ImportError as exc:
        click.echo(f"error: the exporter needs the export extra (pip install 'quals[export]'): {exc}", err=True)
        sys.exit(EXIT_EXPORT)
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
    v = manifest.validation
    click.echo(
        f"exported {src} -> {out} ({manifest.family}, opset {manifest.onnx.opset}); "
        f"max |log p(ORT) - log p(PyTorch)| = {v['max_abs_logprob_diff']:.3g} (atol {v['atol']:g})"
    )


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
    try:
        from quals.export import quantize_bundle
    except ImportError as exc:
        click.echo(f"error: quantisation needs the export extra (pip install 'quals[export]'): {exc}", err=True)
        sys.exit(EXIT_EXPORT)
    try:
        manifest = quantize_bundle(src, out, method=method, block_size=block_size, int8_nodes=int8_nodes,
                                   overwrite=overwrite)
    except QualsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_EXPORT)
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

    path = _model_path(bundle)
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
        b = load_bundle(_model_path(bundle), verify=not no_verify)
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
