"""Smaller bundles from a split fp32 bundle, with one merged decoder.

Three methods, each measured on every development record before one was shipped (models/default/MODEL_CARD.md):
- `fp16-weights` (default): fp32 computation from weights stored as fp16 (int8 blocks for the nodes that
  `int8_nodes` picks) in one file shared by the encoder and the decoder (quals.export.stored_weights).
  ONNX Runtime restores them to fp32 when it loads the session, so only the weights' rounding differs from
  fp32: on the default model 10x closer to fp32 than weight-int8, at fp32 speed and memory.
- `weight-int8`: 8-bit weights in blocks of 16 with one scale each, for every projection and
  embedding (quals.export.weight_int8); activations stay fp32 between ops. About 6x closer to fp32 than
  dynamic-int8 and smaller, because the tied output layer and the decoder's embedding share one copy.
  Needs ONNX Runtime >= 1.22 (8-bit MatMulNBits on CPU).
- `dynamic-int8`: ONNX Runtime's quantize_dynamic, int8 weights per output channel with 7-bit range (which
  avoids the u8 x s8 saturation of AVX2 kernels) and activations quantised with one scale per call, so a
  row's numbers depend on the rows batched with it.

The int8 methods would silently do nothing to a merged decoder (its weights live inside If subgraphs), so
they quantise the two decoders separately and merge them afterwards (Optimum's merge_decoders, which also
de-duplicates the weights they share); fp16-weights merges first and stores the merged graph's weights.
The result is compared with the fp32 bundle (teacher-forced log-probs on the exporter's validation pairs)
and the difference is recorded in the manifest: each method is an approximation, so it is measured, not
asserted.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from quals.bundle import MANIFEST_NAME, Manifest, load_bundle, model_file_digests

from .exporter import ExportError, merge_decoders, publish, validation_logps, write_manifest

log = logging.getLogger("quals.export")


METHODS = ("fp16-weights", "fp16-head-int8", "fp16-decoder-int8", "weight-int8", "dynamic-int8")
# Weights stored as fp16 (int8 blocks for int8_nodes); -head-int8: the output layer computed in int8,
# -decoder-int8: every MatMul of the decoder (quals.export.rowwise_int8).
FP16_METHODS = ("fp16-weights", "fp16-head-int8", "fp16-decoder-int8")


def quantize_bundle(src: str | Path, out: str | Path, *, method: str = "fp16-weights", block_size: int | None = None,
                    int8_nodes: str | None = None, overwrite: bool = False) -> Manifest:
    """Write a smaller copy of the split-decoder fp32 bundle `src` to `out` (merged decoder).

    block_size: values per scale of int8 weights (a power of two >= 16; default 16).
    int8_nodes: fp16-weights and fp16-head-int8 only: a regular expression searched in
        "<encoder|decoder>:<node name>"; the weights of matching nodes are stored as int8 blocks instead of fp16
        (to fit a size budget).
    """
    from .stored_weights import WEIGHTS_FILE  # onnx-dependent modules load lazily: quals.export imports without onnx
    from .weight_int8 import BLOCK

    src, out = Path(src), Path(out)
    bundle = load_bundle(src)
    m = bundle.manifest
    if m.decoder_layout != "split":
        raise ExportError(f"{src}: quantisation needs a bundle exported with --decoder split")
    if method not in METHODS:
        raise ExportError(f"unknown quantization method {method!r}; choose one of {', '.join(METHODS)}")
    fp16 = method in FP16_METHODS
    if block_size is not None and (method == "dynamic-int8" or block_size < 16 or block_size & (block_size - 1)):
        raise ExportError(f"block size {block_size}: a power of two >= 16, for weight-int8 or fp16-weights")
    if fp16 and block_size is not None and int8_nodes is None:
        raise ExportError(f"block size {block_size}: {method} stores int8 blocks only for --int8-nodes")
    if int8_nodes is not None:
        if not fp16:
            raise ExportError(f"int8_nodes (--int8-nodes) applies to the fp16 methods only ({', '.join(FP16_METHODS)})")
        try:
            re.compile(int8_nodes)
        except re.error as exc:
            raise ExportError(f"--int8-nodes {int8_nodes!r}: not a regular expression ({exc})") from exc
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out}: exists and is not empty (pass overwrite=True / --overwrite)")
    with tempfile.TemporaryDirectory(prefix="quals-quantize-") as tmp:
        tmp = Path(tmp)
        stage = tmp / "bundle"
        stage.mkdir()
        merged = stage / "decoder_model_merged.onnx"
        files = {"encoder": m.files["encoder"], "decoder_merged": merged.name, "tokenizer": m.files["tokenizer"]}
        if fp16:
            shutil.copy2(bundle.file("encoder"), stage / files["encoder"])
            decoders, rowwise = (bundle.file("decoder"), bundle.file("decoder_with_past")), None
            if method != "fp16-weights":
                decoders, rowwise = _rowwise_int8(decoders, tmp, m.onnx.vocab_size, method == "fp16-head-int8")
            merge_decoders(*decoders, merged)
            settings, graphs = _fp16_weights({"encoder": stage / files["encoder"], "decoder": merged},
                                             stage / WEIGHTS_FILE, int8_nodes, block_size or BLOCK)
            if rowwise is not None:
                settings["int8_compute"] = rowwise
            files["weights"] = WEIGHTS_FILE
        else:
            opts = {"block_size": block_size} if block_size else {}
            done = {role: _QUANTIZERS[method](bundle.file(role), tmp / m.files[role], **opts)
                    for role in ("encoder", "decoder", "decoder_with_past")}
            shutil.copy2(tmp / m.files["encoder"], stage / m.files["encoder"])
            merge_decoders(tmp / m.files["decoder"], tmp / m.files["decoder_with_past"], merged)
            settings, graphs = done["encoder"][0], {r: graph for r, (_, graph) in done.items()}
        shutil.copy2(bundle.file("tokenizer"), stage / m.files["tokenizer"])
        provenance = {**m.provenance, "quantization": {"method": method, "fp32_bundle": bundle.digest[:12],
                                                        **settings, "graphs": graphs}}
        manifest = dataclasses.replace(m, files=files, provenance=provenance)
        write_manifest(stage, manifest)
        diff, mean = compare(src, stage)
        log.info("%s vs fp32: |log p| difference max %.3g, mean %.3g", method, diff, mean)
        validation = {**m.validation, "vs_fp32_max_abs_logprob_diff": diff, "vs_fp32_mean_abs_logprob_diff": mean}
        manifest = dataclasses.replace(manifest, validation=validation)
        write_manifest(stage, manifest)
        publish(stage, out)
    return manifest


# Each quantizer writes dst from src and returns (settings, what it did to this graph) for the provenance.
def _dynamic_int8(src: Path, dst: Path) -> tuple[dict, dict]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    return {"weights": "int8", "tool": "onnxruntime quantize_dynamic", "per_channel": True, "reduce_range": True,
            "activations": "int8, one scale per call"}, {}


def _weight_int8(src: Path, dst: Path, block_size: int | None = None) -> tuple[dict, dict]:
    from dataclasses import asdict

    import onnx

    from .weight_int8 import ACCURACY_LEVEL, BLOCK, quantize_graph

    block_size = block_size or BLOCK
    model = onnx.load(str(src))
    report = quantize_graph(model, block=block_size, accuracy_level=ACCURACY_LEVEL)
    onnx.save(model, str(dst))
    return {"weights": "int8", "tool": "quals.export.weight_int8 (MatMulNBits, bits 8)", "block_size": block_size,
            "accuracy_level": ACCURACY_LEVEL,
            "activations": "fp32 in the graph; int8 per block of one row inside MatMulNBits"}, asdict(report)


_QUANTIZERS = {"dynamic-int8": _dynamic_int8, "weight-int8": _weight_int8}


def _rowwise_int8(decoders: tuple[Path, Path], tmp: Path, vocab_size: int,
                  head_only: bool) -> tuple[tuple[Path, Path], dict]:
    """The split decoders with their output layer (`head_only`) or every MatMul computed in int8
    (quals.export.rowwise_int8), written to `tmp`."""
    from dataclasses import asdict

    import onnx

    from .rowwise_int8 import every_matmul, output_layer, quantize_rowwise

    out, reports = [], {}
    for path in decoders:
        model = onnx.load(str(path))
        report = quantize_rowwise(model, output_layer(vocab_size) if head_only else every_matmul)
        if report.matmuls < 1 or (head_only and report.matmuls != 1):
            raise ExportError(f"{path.name}: expected {'one output layer' if head_only else 'MatMuls'} "
                              f"([K, N] constant weights) to compute in int8, found {report.matmuls}")
        dst = tmp / f"rowwise-int8-{path.name}"
        onnx.save(model, str(dst))
        out.append(dst)
        reports[path.stem] = asdict(report)
    return (out[0], out[1]), {"tool": "quals.export.rowwise_int8 (MatMulIntegerToFloat)",
                              "matmuls": "the output layer" if head_only else "every decoder MatMul",
                              "weights": "int8, one scale per column", "activations": "int8, one scale per row",
                              "graphs": reports}


def _fp16_weights(graphs: dict[str, Path], weights: Path, int8_nodes: str | None, block: int) -> tuple[dict, dict]:
    """Rewrite each graph file in place, its large weights moved into the one shared file `weights`."""
    from dataclasses import asdict

    import onnx

    from .stored_weights import SharedFile, store_graph

    reports = {}
    with SharedFile(weights) as shared:
        for name, path in graphs.items():
            model = onnx.load(str(path))
            reports[name] = asdict(store_graph(model, shared, graph=name, int8_nodes=int8_nodes, block=block))
            onnx.save(model, str(path))
    settings = {"weights": "fp16" + (f", int8 blocks for nodes matching {int8_nodes!r}" if int8_nodes else ""),
                "tool": "quals.export.stored_weights (restored to fp32 when the session loads)",
                "activations": "fp32", "shared_file": weights.name}
    if int8_nodes:
        settings.update(block_size=block, int8_nodes=int8_nodes)
    return settings, reports


def compare(a: str | Path, b: str | Path) -> tuple[float, float]:
    """(max, mean) abs difference of teacher-forced log-probs between two bundles of one model."""
    d = np.concatenate([np.abs(x[2] - y[2]) for x, y in zip(validation_logps(Path(a)), validation_logps(Path(b)))])
    return float(d.max()), float(d.mean())


def rehash(bundle_dir: str | Path) -> Manifest:
    """Recompute the manifest's sha256 list after a file was added or edited (e.g. the model card)."""
    bundle_dir = Path(bundle_dir)
    m = load_bundle(bundle_dir, verify=False).manifest
    digests = model_file_digests(bundle_dir)
    m = dataclasses.replace(m, sha256=digests)
    (bundle_dir / MANIFEST_NAME).write_text(m.to_json(), encoding="utf-8")
    load_bundle(bundle_dir)
    return m
