"""A Hugging Face checkpoint rebuilt from a bundle: the original checkpoint's weights and config come back,
and transformers' own generation on the rebuilt model is quals' search on the bundle, token for token."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.torch


def _state(path):
    from transformers import AutoModelForSeq2SeqLM

    return {k: v.numpy() for k, v in AutoModelForSeq2SeqLM.from_pretrained(path).state_dict().items()}


CONFIG_FIELDS = ("vocab_size", "d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
                 "encoder_ffn_dim", "decoder_ffn_dim", "max_position_embeddings", "activation_function",
                 "scale_embedding", "pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id")


@pytest.mark.parametrize("kind", ["bart", "bart-split"])
def test_an_fp32_bundle_gives_back_the_checkpoint_it_was_exported_from(bundle_for, checkpoint_for, tmp_path, kind):
    from quals.export.hf_rebuild import REPORT, rebuild_checkpoint
    from transformers import AutoConfig

    out = rebuild_checkpoint(bundle_for(kind), tmp_path / "hf")
    original, rebuilt = _state(checkpoint_for("bart")), _state(out)
    assert rebuilt.keys() == original.keys()
    for k in original:
        np.testing.assert_array_equal(rebuilt[k], original[k], err_msg=k)
    a, b = AutoConfig.from_pretrained(checkpoint_for("bart")), AutoConfig.from_pretrained(out)
    assert {f: getattr(b, f) for f in CONFIG_FIELDS} == {f: getattr(a, f) for f in CONFIG_FIELDS}
    assert json.loads((out / REPORT).read_text())["max_abs_logprob_diff"] < 1e-4
    if kind == "bart":  # and back again: the same manifest (tokens, separator, encoding, layout)
        from quals.bundle import load_bundle
        from quals.export import export_bundle

        again = export_bundle(out, tmp_path / "again")
        first = load_bundle(bundle_for(kind)).manifest
        for field in ("tokens", "separator", "encoding", "onnx", "family", "max_target_tokens", "ans_lm_ignore_ids"):
            assert getattr(again, field) == getattr(first, field), field


def test_another_shape_scaling_and_activation_are_read_off_the_graphs(checkpoint_for, tmp_path):
    """Unequal encoder/decoder depth, sqrt(d) embedding scale and ReLU: all must come back from the graphs."""
    import shutil

    import torch
    from quals.export import export_bundle
    from quals.export.hf_rebuild import rebuild_checkpoint
    from transformers import AutoConfig, BartForConditionalGeneration

    src = checkpoint_for("bart")
    cfg = AutoConfig.from_pretrained(src)
    cfg.update(dict(decoder_layers=1, encoder_ffn_dim=48, decoder_ffn_dim=80, scale_embedding=True,
                    activation_function="relu", init_std=0.3))
    torch.manual_seed(1)
    ckpt = tmp_path / "ckpt"
    BartForConditionalGeneration(cfg).eval().save_pretrained(ckpt)
    for f in src.iterdir():
        if "token" in f.name or f.name == "special_tokens_map.json":
            shutil.copy(f, ckpt / f.name)
    export_bundle(ckpt, tmp_path / "bundle", overwrite=True)
    out = rebuild_checkpoint(tmp_path / "bundle", tmp_path / "hf")
    got = AutoConfig.from_pretrained(out)
    assert {f: getattr(got, f) for f in CONFIG_FIELDS} == {f: getattr(cfg, f) for f in CONFIG_FIELDS}
    original, rebuilt = _state(ckpt), _state(out)
    for k in original:
        np.testing.assert_array_equal(rebuilt[k], original[k], err_msg=k)


def test_a_compact_bundle_rebuilds_to_the_weights_it_computes_with(bundle_for, checkpoint_for, tmp_path):
    """fp16 storage with int8 blocks for some nodes: the rebuilt weights are the rounded ones, and
    transformers' group beam search on them is quals' hf search on the compact bundle."""
    import torch
    from quals import Scorer
    from quals.export import quantize_bundle
    from quals.export.hf_rebuild import rebuild_checkpoint
    from transformers import AutoModelForSeq2SeqLM

    compact = tmp_path / "compact"
    quantize_bundle(bundle_for("bart-split"), compact, method="fp16-weights",
                    int8_nodes=r"encoder:/layers\.\d+/fc1/")
    out = rebuild_checkpoint(compact, tmp_path / "hf")
    original, rebuilt = _state(checkpoint_for("bart")), _state(out)
    fc1 = "model.encoder.layers.0.fc1.weight"
    assert not np.array_equal(rebuilt[fc1], original[fc1])  # int8 blocks: rounded, not the original
    np.testing.assert_allclose(rebuilt[fc1], original[fc1], atol=np.abs(original[fc1]).max() / 100)
    emb = "model.shared.weight"
    np.testing.assert_array_equal(rebuilt[emb], original[emb].astype(np.float16).astype(np.float32))

    scorer = Scorer.load(compact, search="hf")
    text = "Anna built a bridge in Paris in 1950. Boris visited the school."
    opts = dict(num_beams=6, num_groups=3, diversity=0.5, min_length=3, max_length=16, length_penalty=1.0)
    ours = scorer.generate(text, **opts)
    model = AutoModelForSeq2SeqLM.from_pretrained(out).eval()
    ids = torch.tensor([list(scorer.codec.encode(text).ids)])
    with torch.no_grad():
        ref = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), num_beams=6, num_beam_groups=3,
                             diversity_penalty=0.5, min_length=3, max_length=16, length_penalty=1.0,
                             num_return_sequences=6, do_sample=False, early_stopping=False)
    eos, pad = scorer.manifest.tokens.eos, scorer.manifest.tokens.pad
    theirs = [row[1:] for row in ref.tolist()]
    theirs = [tuple(r[: r.index(eos) + 1] if eos in r else [t for t in r if t != pad]) for r in theirs]
    assert len(ours) == 6 and [h.tokens for h in ours] == theirs


def test_what_cannot_be_rebuilt_is_refused_with_the_reason(bundle_for, tmp_path):
    from click.testing import CliRunner
    from quals.cli import main
    from quals.export import quantize_bundle
    from quals.export.hf_rebuild import RebuildError, rebuild_checkpoint

    with pytest.raises(RebuildError, match="only BART"):
        rebuild_checkpoint(bundle_for("t5"), tmp_path / "t5")
    int8 = tmp_path / "int8"
    quantize_bundle(bundle_for("bart-split"), int8, method="weight-int8")
    with pytest.raises(RebuildError, match="int8 computation"):
        rebuild_checkpoint(int8, tmp_path / "x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    r = CliRunner().invoke(main, ["rebuild-hf", str(bundle_for("bart")), str(tmp_path / "full")])
    assert r.exit_code == 4 and "--overwrite" in r.output
    r = CliRunner().invoke(main, ["rebuild-hf", str(bundle_for("bart")), str(tmp_path / "ok")])
    assert r.exit_code == 0 and (tmp_path / "ok" / "model.safetensors").is_file(), r.output
