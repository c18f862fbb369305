"""int8 bundles: quantised from a split fp32 export, merged, loadable, and close to fp32."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("method", ["weight-int8", "dynamic-int8"])
def test_int8_bundle_loads_and_records_its_difference(bundle_for, tmp_path, method):
    from quals import Scorer
    from quals.bundle import load_bundle
    from quals.export import ExportError, quantize_bundle

    split = bundle_for("bart-split")
    out = tmp_path / "int8"
    m = quantize_bundle(split, out, method=method)
    q = m.provenance["quantization"]
    assert m.decoder_layout == "merged" and q["weights"] == "int8" and q["method"] == method
    if method == "weight-int8":  # every projection and embedding, the tied output layer stored once
        assert all(g["matmuls"] > 0 and g["gathers"] > 0 and not g["kept_fp32"] for g in q["graphs"].values())
        assert q["graphs"]["decoder"]["shared_tables"] == 1
    diff = m.validation["int8_vs_fp32_max_abs_logprob_diff"]
    assert 0 < diff < 2.0  # an approximation: not bit-exact, not garbage
    b = load_bundle(out)  # hashes verified
    assert sum(f.stat().st_size for f in out.glob("*.onnx")) < sum(f.stat().st_size for f in split.glob("*.onnx"))
    assert json.loads((out / "quals.json").read_text())["family"] == b.manifest.family
    hyps = Scorer.load(out).generate("Anna built a bridge.", num_beams=4, num_groups=2, max_length=8)
    assert hyps
    with pytest.raises(ExportError, match="split"):
        quantize_bundle(bundle_for("bart"), tmp_path / "x", method=method)
    with pytest.raises(ExportError, match="unknown quantization method"):
        quantize_bundle(split, tmp_path / "y", method="int4")


def test_cli_quantize(bundle_for, tmp_path):
    from click.testing import CliRunner
    from quals.cli import main

    r = CliRunner().invoke(main, ["quantize", str(bundle_for("bart-split")), str(tmp_path / "q")])
    assert r.exit_code == 0, r.output
    assert "weight-int8" in r.output and (tmp_path / "q" / "decoder_model_merged.onnx").is_file()
    r = CliRunner().invoke(main, ["quantize", "--method", "dynamic-int8", str(bundle_for("bart-split")),
                                  str(tmp_path / "q3")])
    assert r.exit_code == 0 and "dynamic-int8" in r.output, r.output
    r = CliRunner().invoke(main, ["quantize", str(bundle_for("bart")), str(tmp_path / "q2")])
    assert r.exit_code == 4 and "split" in r.output


def test_block_size_is_checked_and_recorded(bundle_for, tmp_path):
    from quals.export import ExportError, quantize_bundle

    split = bundle_for("bart-split")
    for method, block in (("dynamic-int8", 32), ("weight-int8", 24), ("weight-int8", 8)):
        with pytest.raises(ExportError, match="block size"):
            quantize_bundle(split, tmp_path / "x", method=method, block_size=block)
    assert quantize_bundle(split, tmp_path / "b16").provenance["quantization"]["block_size"] == 16  # default
    m = quantize_bundle(split, tmp_path / "b32", block_size=32)
    assert m.provenance["quantization"]["block_size"] == 32
