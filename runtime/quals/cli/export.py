"""`quals export`, `quals quantize`, `quals import-fairseq`, `quals rebuild-hf`: the commands of the export extra.

Each checks that the extra's modules are installed before any work (exit 4 with the install hint), then calls
quals.export; an export that fails exits 4.
"""

from __future__ import annotations

import importlib.util
import sys

import click

from . import options as o
from .app import EXIT_EXPORT, exit_codes, main

EXPORT_MODULES = ("torch", "transformers", "optimum", "onnx")  # what `quals export` imports
QUANTIZE_MODULES = ("optimum", "onnx")


def _missing_extra(command: str, modules: str) -> None:
    click.echo(f"error: quals {command} needs the export extra, and {modules} is not installed here: "
               "pip install torch==2.13.0 && pip install 'quals[export]' (torch first: the CPU wheel)", err=True)
    sys.exit(EXIT_EXPORT)


def require_extra(command: str, modules: tuple[str, ...]) -> None:
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
@click.option("--separator", default=None,
              help="The QA separator token (default: the first of ĠstrutConnector, <sep>, [SEP] in the vocabulary).")
@click.option("--max-source-tokens", type=int, default=None,
              help="Text tokens kept from a source (default BART: positions - 2; T5: 511).")
@click.option("--decoder", type=click.Choice(["merged", "split"]), default="merged", show_default=True,
              help="One merged decoder file, or decoder + decoder_with_past.")
@click.option("--atol", type=float, default=1e-3, show_default=True,
              help="Largest allowed |log p(ORT) - log p(PyTorch)|.")
@o.overwrite
def export(src, out, separator, max_source_tokens, decoder, atol, overwrite):
    """Export the HF checkpoint SRC (BART or T5 family) to the bundle OUT, validated against PyTorch."""
    require_extra("export", EXPORT_MODULES)
    from quals.export import export_bundle

    try:
        with exit_codes(export=True):
            manifest = export_bundle(src, out, separator=separator, max_source_tokens=max_source_tokens,
                                     decoder=decoder, atol=atol, overwrite=overwrite)
    except ImportError as exc:
        _missing_extra("export", exc.name or str(exc))
    v = manifest.validation
    click.echo(f"exported {src} -> {out} ({manifest.family}, opset {manifest.onnx.opset}); "
               f"max |log p(ORT) - log p(PyTorch)| = {v['max_abs_logprob_diff']:.3g} (atol {v['atol']:g})")


@main.command("import-fairseq")
@click.argument("checkpoint", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--dict", "dict_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The checkpoint's fairseq dictionary (dict.txt).")
@click.option("--bpe-dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Where GPT-2's encoder.json and vocab.bpe are (default: dict.txt's directory).")
@o.overwrite
def import_fairseq_cmd(checkpoint, out, dict_path, bpe_dir, overwrite):
    """Turn a fairseq 0.9 BART checkpoint (the QUALS authors' QAGen format) into the HF checkpoint OUT.

    Then `quals export OUT BUNDLE` makes the bundle (the strutConnector separator is found by itself).
    Loading runs no code from the file. See docs/fairseq.md.
    """
    require_extra("import-fairseq", ("torch", "transformers"))
    from quals.export.fairseq_import import import_fairseq

    with exit_codes(export=True):
        path = import_fairseq(checkpoint, dict_path, out, bpe_dir=bpe_dir, overwrite=overwrite)
    click.echo(f"imported {checkpoint} -> {path} (Hugging Face BART); next: quals export {path} BUNDLE")


@main.command("rebuild-hf")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@o.overwrite
def rebuild_hf_cmd(bundle, out, overwrite):
    """Write the Hugging Face checkpoint (BART) that BUNDLE computes with to OUT, e.g. to fine-tune it.

    Weights are the fp32 values of what the bundle stores; the rebuilt model's log-probs are checked
    against the bundle's before anything is written.
    """
    require_extra("rebuild-hf", ("torch", "transformers", "onnx"))
    from quals.export.hf_rebuild import rebuild_checkpoint

    with exit_codes(export=True):
        path = rebuild_checkpoint(bundle, out, overwrite=overwrite)
    click.echo(f"rebuilt {bundle} -> {path} (Hugging Face BART)")


@main.command()
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--method", type=click.Choice(["fp16-weights", "fp16-head-int8", "fp16-decoder-int8", "weight-int8",
                                            "dynamic-int8"]),
              default="fp16-weights", show_default=True,
              help="fp16-weights: weights stored as fp16 (int8 where --int8-nodes says) in one shared file, "
                   "restored to fp32 when the session loads. fp16-head-int8: the same, with the output layer "
                   "computed in int8 (one scale per row and per column; fast on CPUs with VNNI); "
                   "fp16-decoder-int8: every decoder MatMul so. weight-int8: "
                   "8-bit weights in blocks, int8 compute (needs onnxruntime >= 1.22). dynamic-int8: int8 weights "
                   "per channel, activations quantised per call.")
@click.option("--block-size", type=int, default=None,
              help="Values per scale of int8 weights, a power of two >= 16 (default 16); not for dynamic-int8.")
@click.option("--int8-nodes", default=None, metavar="REGEX",
              help="fp16-weights only: store the weights of the nodes whose '<encoder|decoder>:<node name>' "
                   "matches REGEX as int8 blocks, e.g. 'encoder:/layers\\.\\d+/self_attn/[qk]_proj/'.")
@o.overwrite
def quantize(src, out, method, block_size, int8_nodes, overwrite):
    """Write a smaller copy of the fp32 bundle SRC (exported with --decoder split) to OUT, merged decoder."""
    require_extra("quantize", QUANTIZE_MODULES)
    from quals.export import quantize_bundle

    try:
        with exit_codes(export=True):
            manifest = quantize_bundle(src, out, method=method, block_size=block_size, int8_nodes=int8_nodes,
                                       overwrite=overwrite)
    except ImportError as exc:
        _missing_extra("quantize", exc.name or str(exc))
    diff = manifest.validation["vs_fp32_max_abs_logprob_diff"]
    mean = manifest.validation["vs_fp32_mean_abs_logprob_diff"]
    click.echo(f"quantized {src} -> {out} ({method}); |log p - log p(fp32)|: max {diff:.3g}, mean {mean:.3g}")
