"""int8 bundles: a split fp32 bundle quantised graph by graph, then one merged decoder.

Two methods, both measured on every development record before one was shipped (models/default/MODEL_CARD.md):
- `weight-int8` (default): 8-bit weights in blocks of 16 with one scale each, for every projection and
  embedding (quals.export.weight_int8); activations stay fp32 between ops. About 6x closer to fp32 than
  dynamic-int8 and smaller, because the tied output layer and the decoder's embedding share one copy.
  Needs ONNX Runtime >= 1.22 (8-bit MatMulNBits on CPU).
- `dynamic-int8`: ONNX Runtime's quantize_dynamic, int8 weights per output channel with 7-bit range (which
  avoids the u8 x s8 saturation of AVX2 kernels) and activations quantised with one scale per call, so a
  row's numbers depend on the rows batched with it.

Quantising a merged decoder would silently do nothing (its weights live inside If subgraphs), so the two
decoders are quantised separately and merged afterwards (Optimum's merge_decoders, which also de-duplicates
the weights they share). The result is compared with the fp32 bundle (teacher-forced log-probs on the
exporter's validation pairs) and the difference is recorded in the manifest: int8 is an approximation, so it
is measured, not asserted.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
from quals.bundle import MANIFEST_NAME, Manifest, load_bundle, sha256_file

from .exporter import ExportError, _fields, _publish, _write, validation_logps

log = logging.getLogger("quals.export")


METHODS = ("weight-int8", "dynamic-int8")


def quantize_bundle(src: str | Path, out: str | Path, *, method: str = "weight-int8", block_size: int | None = None,
                    overwrite: bool = False) -> Manifest:
    """Write an int8 copy of the split-decoder fp32 bundle `src` to `out` (merged decoder).

    block_size: values per scale for weight-int8 (a power of two >= 16; default 16).
    """
    from optimum.onnx import merge_decoders

    src, out = Path(src), Path(out)
    bundle = load_bundle(src)
    m = bundle.manifest
    if m.decoder_layout != "split":
        raise ExportError(f"{src}: quantisation needs a bundle exported with --decoder split")
    if method not in METHODS:
        raise ExportError(f"unknown quantization method {method!r}; choose one of {', '.join(METHODS)}")
    if block_size is not None and (method != "weight-int8" or block_size < 16 or block_size & (block_size - 1)):
        raise ExportError(f"block size {block_size}: only weight-int8 takes one, a power of two >= 16")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out}: exists and is not empty (pass overwrite=True / --overwrite)")
    with tempfile.TemporaryDirectory(prefix="quals-int8-") as tmp:
        tmp = Path(tmp)
        stage = tmp / "bundle"
        stage.mkdir()
        opts = {"block_size": block_size} if block_size else {}
        done = {role: _QUANTIZERS[method](bundle.file(role), tmp / m.files[role], **opts)
                for role in ("encoder", "decoder", "decoder_with_past")}
        shutil.copy2(tmp / m.files["encoder"], stage / m.files["encoder"])
        merge_decoders(tmp / m.files["decoder"], tmp / m.files["decoder_with_past"],
                       save_path=stage / "decoder_model_merged.onnx", strict=False)
        shutil.copy2(bundle.file("tokenizer"), stage / m.files["tokenizer"])
        files = {"encoder": m.files["encoder"], "decoder_merged": "decoder_model_merged.onnx",
                 "tokenizer": m.files["tokenizer"]}
        provenance = {**m.provenance, "quantization": {"method": method, "weights": "int8",
                                                        "fp32_bundle": bundle.digest[:12], **done["encoder"][0],
                                                        "graphs": {r: graph for r, (_, graph) in done.items()}}}
        manifest = Manifest(**{**_fields(m), "files": files, "provenance": provenance})
        _write(stage, manifest)
        diff, mean = compare(src, stage)
        log.info("int8 vs fp32: |log p| difference max %.3g, mean %.3g", diff, mean)
        validation = {**m.validation, "int8_vs_fp32_max_abs_logprob_diff": diff,
                      "int8_vs_fp32_mean_abs_logprob_diff": mean}
        manifest = Manifest(**{**_fields(manifest), "validation": validation})
        _write(stage, manifest)
        _publish(stage, out)
    return manifest


# Each quantizer writes dst from src and returns (settings, what it did to this graph) for the provenance.
def _dynamic_int8(src: Path, dst: Path) -> tuple[dict, dict]:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dst, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
    return {"tool": "onnxruntime quantize_dynamic", "per_channel": True, "reduce_range": True,
            "activations": "int8, one scale per call"}, {}


def _weight_int8(src: Path, dst: Path, block_size: int | None = None) -> tuple[dict, dict]:
    from dataclasses import asdict

    import onnx

    from .weight_int8 import ACCURACY_LEVEL, BLOCK, quantize_graph

    block_size = block_size or BLOCK
    model = onnx.load(str(src))
    report = quantize_graph(model, block=block_size, accuracy_level=ACCURACY_LEVEL)
    onnx.save(model, str(dst))
    return {"tool": "quals.export.weight_int8 (MatMulNBits, bits 8)", "block_size": block_size,
            "accuracy_level": ACCURACY_LEVEL,
            "activations": "fp32 in the graph; int8 per block of one row inside MatMulNBits"}, asdict(report)


_QUANTIZERS = {"dynamic-int8": _dynamic_int8, "weight-int8": _weight_int8}


def compare(a: str | Path, b: str | Path) -> tuple[float, float]:
    """(max, mean) abs difference of teacher-forced log-probs between two bundles of one model."""
    d = np.concatenate([np.abs(x[2] - y[2]) for x, y in zip(validation_logps(Path(a)), validation_logps(Path(b)))])
    return float(d.max()), float(d.mean())


def rehash(bundle_dir: str | Path) -> Manifest:
    """Recompute the manifest's sha256 list after a file was added or edited (e.g. the model card)."""
    bundle_dir = Path(bundle_dir)
    m = load_bundle(bundle_dir, verify=False).manifest
    digests = {f.name: sha256_file(f) for f in sorted(bundle_dir.iterdir()) if f.is_file() and f.name != MANIFEST_NAME}
    m = Manifest(**{**_fields(m), "sha256": digests})
    (bundle_dir / MANIFEST_NAME).write_text(m.to_json(), encoding="utf-8")
    load_bundle(bundle_dir)
    return m
