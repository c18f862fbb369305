"""int8 bundles: quantised from a split fp32 export, merged, loadable, and close to fp32."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.torch


def test_int8_bundle_loads_and_records_its_difference(bundle_for, tmp_path):
    from quals import Scorer
    from quals.bundle import load_bundle
    from quals.export import ExportError, quantize_bundle

    split = bundle_for("bart-split")
    out = tmp_path / "int8"
    m = quantize_bundle(split, out)
    assert m.decoder_layout == "merged" and m.provenance["quantization"]["weights"] == "int8"
    diff = m.validation["int8_vs_fp32_max_abs_logprob_diff"]
    assert 0 < diff < 2.0  # an approximation: not bit-exact, not garbage
    b = load_bundle(out)  # hashes verified
    assert sum(f.stat().st_size for f in out.glob("*.onnx")) < sum(f.stat().st_size for f in split.glob("*.onnx"))
    assert json.loads((out / "quals.json").read_text())["family"] == b.manifest.family
    hyps = Scorer.load(out).generate("Anna built a bridge.", num_beams=4, num_groups=2, max_length=8)
    assert hyps
    with pytest.raises(ExportError, match="split"):
        quantize_bundle(bundle_for("bart"), tmp_path / "x")
