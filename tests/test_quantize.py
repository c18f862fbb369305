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


def test_cli_quantize(bundle_for, tmp_path):
    from click.testing import CliRunner
    from quals.cli import main

    r = CliRunner().invoke(main, ["quantize", str(bundle_for("bart-split")), str(tmp_path / "q")])
    assert r.exit_code == 0, r.output
    assert "int8" in r.output and (tmp_path / "q" / "decoder_model_merged.onnx").is_file()
    r = CliRunner().invoke(main, ["quantize", str(bundle_for("bart")), str(tmp_path / "q2")])
    assert r.exit_code == 4 and "split" in r.output
