"""int8 bundles: ONNX Runtime dynamic quantisation of a split fp32 bundle, then one merged decoder.

Dynamic quantisation of the merged decoder silently does nothing (its weights live inside If subgraphs),
so the two decoders are quantised separately and merged afterwards (Optimum's merge_decoders, which also
de-duplicates the weights they share). Weights are int8 per output channel with 7-bit range (on a trained
30k-vocabulary model this halves the mean log-prob error of per-tensor int8, and the reduced range avoids
the u8 x s8 saturation of AVX2 kernels); activations are quantised at run time.
The result is compared with the fp32 bundle (teacher-forced log-probs on the exporter's validation pairs)
and the difference is recorded in the manifest: int8 is an approximation, so it is measured, not asserted.
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


def quantize_bundle(src: str | Path, out: str | Path, *, overwrite: bool = False) -> Manifest:
    """Write an int8 copy of the split-decoder fp32 bundle `src` to `out` (merged decoder)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from optimum.onnx import merge_decoders

    src, out = Path(src), Path(out)
    bundle = load_bundle(src)
    m = bundle.manifest
    if m.decoder_layout != "split":
        raise ExportError(f"{src}: quantisation needs a bundle exported with --decoder split")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out}: exists and is not empty (pass overwrite=True / --overwrite)")
    with tempfile.TemporaryDirectory(prefix="quals-int8-") as tmp:
        tmp = Path(tmp)
        stage = tmp / "bundle"
        stage.mkdir()
        for role in ("encoder", "decoder", "decoder_with_past"):
            quantize_dynamic(bundle.file(role), tmp / m.files[role], weight_type=QuantType.QInt8,
                             per_channel=True, reduce_range=True)
        shutil.copy2(tmp / m.files["encoder"], stage / m.files["encoder"])
        merge_decoders(tmp / m.files["decoder"], tmp / m.files["decoder_with_past"],
                       save_path=stage / "decoder_model_merged.onnx", strict=False)
        shutil.copy2(bundle.file("tokenizer"), stage / m.files["tokenizer"])
        files = {"encoder": m.files["encoder"], "decoder_merged": "decoder_model_merged.onnx",
                 "tokenizer": m.files["tokenizer"]}
        provenance = {**m.provenance, "quantization": {"method": "onnxruntime quantize_dynamic", "weights": "int8",
                                                        "per_channel": True,
                                                        "reduce_range": True, "fp32_bundle": bundle.digest[:12]}}
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
