"""The exporter: what it writes, and that it fails loudly when the export does not match PyTorch."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.torch


def test_manifest_records_what_hosts_need(any_bundle):
    m = json.loads((any_bundle / "quals.json").read_text())
    assert m["format"] == "quals-bundle" and m["format_version"] == 1
    assert m["family"] in ("bart", "t5") and m["onnx"]["opset"] >= 14
    assert set(m["tokens"]) >= {"pad", "eos", "decoder_start", "bos"}
    assert m["separator"]["text"] == "<sep>"
    assert m["encoding"]["prepend_bos"] is False and m["encoding"]["append_eos"] is True
    assert m["validation"]["max_abs_logprob_diff"] < 1e-4
    assert set(m["sha256"]) == set(m["files"].values())
    d = m["search_defaults"]
    assert d["search"] == "fairseq"  # the authors' search and settings by default
    assert d["fairseq"] == {
        "num_beams": 60,
        "num_groups": 60,
        "diversity": 0.5,
        "length_penalty": 1.0,
        "min_length": 8,
        "max_length": 60,
    }
    assert d["hf"]["min_length"] == 9 and d["hf"]["max_length"] == 62


def test_export_fails_when_validation_tolerance_is_not_met(checkpoint_for, tmp_path):
    from quals.export import ExportError, export_bundle

    with pytest.raises(ExportError, match="does not match PyTorch"):
        export_bundle(checkpoint_for("t5"), tmp_path / "out", atol=1e-12)
    assert not (tmp_path / "out" / "quals.json").exists()  # nothing half-written


def test_export_refuses_unknown_separator_and_non_empty_target(checkpoint_for, tmp_path):
    from quals.export import ExportError, export_bundle

    with pytest.raises(ExportError, match="separator 'nope' is not in the vocabulary"):
        export_bundle(checkpoint_for("bart"), tmp_path / "a", separator="nope")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("keep me")
    with pytest.raises(ExportError, match="not empty"):
        export_bundle(checkpoint_for("bart"), tmp_path / "b")


def test_export_refuses_a_separator_that_is_eos(checkpoint_for, tmp_path):
    from quals.export import ExportError, export_bundle

    with pytest.raises(ExportError, match="is also EOS, pad or the decoder start token"):
        export_bundle(checkpoint_for("bart"), tmp_path / "a", separator="</s>")


def test_separator_is_never_a_reserved_token():
    """A BERT-vocabulary QAGen: [SEP] is EOS, so the tokenizer's own sep_token ([unused0]) must win."""
    from types import SimpleNamespace

    from quals.export.exporter import _pick_separator

    vocab = {"[SEP]": 102, "[unused0]": 1, "[PAD]": 0}
    backend = SimpleNamespace(token_to_id=vocab.get)
    assert _pick_separator(SimpleNamespace(sep_token="[unused0]"), backend, {102, 0}) == "[unused0]"
    assert _pick_separator(SimpleNamespace(sep_token="[SEP]"), backend, {102, 0}) is None
