"""The engine against PyTorch (teacher forcing) and against itself (KV cache vs full pass)."""

from __future__ import annotations

import numpy as np
import pytest
from quals import load_bundle
from quals.engine import Engine
from quals.text import TextCodec

SOURCES = ["Anna built a bridge in Paris in 1990.", "Café naïve résumé — 東京 ✓", "Who? Where? 2030"]


def _targets(codec, m, rng, n=5):
    out = []
    for _ in range(n):
        q = [int(x) for x in rng.integers(5, m.onnx.vocab_size, size=rng.integers(1, 9))]
        a = [int(x) for x in rng.integers(5, m.onnx.vocab_size, size=rng.integers(0, 5))]
        out.append(q + [m.separator.id] + a + [m.tokens.eos])
    return out


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["bart", "bart-split", "t5"])
def test_teacher_forced_logprobs_match_pytorch(kind, bundle_for, checkpoint_for):
    import torch
    from transformers import AutoModelForSeq2SeqLM

    b = load_bundle(bundle_for(kind))
    m = b.manifest
    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint_for(m.family)).eval()
    engine, codec = Engine(b), TextCodec(b.file("tokenizer"), m.tokens, m.encoding)
    rng = np.random.default_rng(0)
    worst = 0.0
    for text in SOURCES:
        src = codec.encode(text).ids
        targets = _targets(codec, m, rng)
        ours = engine.teacher_forced(engine.encode(src), targets, max_rows=3)  # several chunks
        for tgt, got in zip(targets, ours):
            with torch.no_grad():
                logits = model(
                    input_ids=torch.tensor([list(src)]),
                    decoder_input_ids=torch.tensor([[m.tokens.decoder_start] + tgt[:-1]]),
                ).logits
            ref = torch.log_softmax(logits, -1)[0, torch.arange(len(tgt)), torch.tensor(tgt)].numpy()
            assert got.shape == ref.shape
            worst = max(worst, float(np.abs(got - ref).max()))
    assert worst < 1e-4, worst


def test_kv_cache_steps_equal_full_pass_with_reordering(any_bundle):
    """Incremental steps with beams reordered every step give the full pass's log-probs."""
    b = load_bundle(any_bundle)
    m = b.manifest
    engine, codec = Engine(b), TextCodec(b.file("tokenizer"), m.tokens, m.encoding)
    enc = engine.encode(codec.encode(SOURCES[0]).ids)
    rng = np.random.default_rng(1)
    n, steps = 4, 6
    state = engine.start(enc, n)
    prefixes = [[] for _ in range(n)]
    tokens, parents = np.full(n, m.tokens.decoder_start), None
    for _ in range(steps):
        logp = state(tokens, parents)
        for i, p in enumerate(prefixes):
            dec_in = np.array([[m.tokens.decoder_start] + p])
            expect = _full_logp(engine, enc, dec_in)[0, -1]
            np.testing.assert_allclose(logp[i], expect, atol=2e-5)
        parents = rng.integers(0, n, size=n)
        tokens = rng.integers(5, m.onnx.vocab_size, size=n)
        prefixes = [prefixes[p] + [int(t)] for p, t in zip(parents, tokens)]


def _full_logp(engine, enc, dec_in):
    from quals.rowwise import log_softmax

    return log_softmax(engine.run_full(enc, dec_in)["logits"])


@pytest.mark.parametrize("search", ["fairseq", "hf"])
def test_search_scores_without_penalty_are_teacher_forced_logprobs(any_bundle, search):
    """With no diversity penalty a hypothesis's per-token scores are the model's log-probs of its tokens:
    the KV-cache path (search) and the full pass (rescoring) agree on every token."""
    from quals import Scorer

    scorer = Scorer.load(any_bundle)
    text = "Who sold the harbour? Chen sold it in Oslo."
    hyps = scorer.generate(text, search=search, num_beams=6, num_groups=1, diversity=0.0, min_length=2, max_length=15)
    assert len(hyps) >= 1
    enc = scorer.engine.encode(scorer.codec.encode(text).ids)
    forced = scorer.engine.teacher_forced(enc, [h.tokens for h in hyps])
    for h, lp in zip(hyps, forced):
        np.testing.assert_allclose(h.token_scores, lp, atol=1e-4)


def test_a_model_this_onnxruntime_cannot_load_is_a_bundle_error(tmp_path):
    from quals.engine import make_session
    from quals.errors import BundleError

    bad = tmp_path / "encoder_model.onnx"
    bad.write_bytes(b"not an onnx graph")
    with pytest.raises(BundleError, match=r"encoder_model.onnx: onnxruntime .* cannot load it"):
        make_session(bad, "cpu", allow_fallback=False, threads=1)


@pytest.mark.parametrize("kind", ["bart", "bart-split", "t5"])
def test_a_first_step_of_identical_rows_runs_one_row_with_the_same_numbers(kind, bundle_for):
    """Step 0 runs one row for all (every search starts each row from the decoder start token); the rows it
    stands for, and every later step, equal an engine that ran them all."""
    b = load_bundle(bundle_for(kind))
    m = b.manifest
    engine, codec = Engine(b, threads=1), TextCodec(b.file("tokenizer"), m.tokens, m.encoding)
    enc = engine.encode(codec.encode(SOURCES[0]).ids)
    n, start = 5, m.tokens.decoder_start
    state = engine.start(enc, n)
    first = state(np.full(n, start), None)
    assert state.held == 1 and first.shape == (n, m.onnx.vocab_size)
    full = engine.run_full(enc, np.full((n, 1), start), ["logits"])["logits"][:, -1, :]
    ref = full - full.max(-1, keepdims=True)
    ref = ref - np.log(np.exp(ref).sum(-1, keepdims=True))
    assert np.array_equal(first[0], first[n - 1]) and np.abs(first - ref).max() < 1e-5
    first[0, :] = 0.0  # each row is its own array row: a search may edit it
    assert not np.array_equal(first[0], first[1])
    # Steps 1 and 2 with diverging rows (and a pruned row) against full passes over the whole prefixes.
    rng = np.random.default_rng(1)
    prefixes = [[start] for _ in range(n)]
    for step_rows in (n, n - 1):
        parents = np.sort(rng.integers(0, len(prefixes), size=step_rows))
        tokens = rng.integers(5, m.onnx.vocab_size, size=step_rows)
        got = state(tokens, parents)
        prefixes = [prefixes[p] + [int(t)] for p, t in zip(parents, tokens)]
        logits = engine.run_full(enc, np.array(prefixes), ["logits"])["logits"][:, -1, :]
        want = logits - logits.max(-1, keepdims=True)
        want = want - np.log(np.exp(want).sum(-1, keepdims=True))
        assert state.held == step_rows and np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("kind", ["bart", "bart-split", "t5"])
@pytest.mark.parametrize("search", ["fairseq", "hf"])
def test_one_row_of_cross_kv_for_all_rows_gives_the_searches_bit_for_bit(kind, search, bundle_for):
    """The cross-attention KV is fed with one row, broadcast by the graph, once the engine has checked that
    this gives the outputs of a row per row; the searches' hypotheses and scores are those of an engine
    that expands it."""
    from quals import Scorer

    b = bundle_for(kind)
    opts = dict(search=search, num_beams=6, num_groups=3, diversity=0.5, min_length=2, max_length=12)
    broadcast, expand = Scorer.load(b, threads=1), Scorer.load(b, threads=1)
    expand.engine.broadcasts_cross_kv = False
    for text in SOURCES:
        got, want = broadcast.generate(text, **opts), expand.generate(text, **opts)
        assert [(h.tokens, h.token_scores, h.score) for h in got] == [(h.tokens, h.token_scores, h.score)
                                                                       for h in want]
    assert broadcast.engine.broadcasts_cross_kv is True  # the one-row path ran (these graphs broadcast)
    state = broadcast.engine.start(broadcast.engine.encode([5, 6, 7]), 4)
    state(np.full(4, broadcast.manifest.tokens.decoder_start), None)
    state(np.array([8, 9, 10, 11]), np.zeros(4, dtype=np.int64))
    assert all(v.shape[0] == 1 for v in state.cross_kv.values())  # never expanded


def test_gather_rows_moves_only_what_moved():
    from quals.engine import gather_rows, moved_rows

    rng = np.random.default_rng(0)
    for rows in ([0, 1, 2, 3, 4, 5], [0, 0, 2, 3, 4, 5], [1, 0, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0], [0, 0, 0],
                 [2, 2, 2, 2, 2, 2, 2, 2], [3, 1, 2, 0, 4, 5]):
        rows = np.array(rows)
        a = rng.standard_normal((6, 2, 3, 4)).astype(np.float32)
        want = a[rows].copy()
        got = gather_rows(a.copy() if rows.shape[0] != 6 else a, rows, moved_rows(rows, 6))
        assert np.array_equal(got, want), rows
    a = rng.standard_normal((6, 2)).astype(np.float32)
    assert gather_rows(a, np.arange(6), moved_rows(np.arange(6), 6)) is a  # nothing moved: no copy at all


def test_onnx_runtime_threads_wait_between_calls_unless_the_caller_says_otherwise(any_bundle):
    """The searches' numpy work runs between the decoder calls: pool threads must not spin on its cores."""
    b = load_bundle(any_bundle)
    key = "session.intra_op.allow_spinning"
    engine = Engine(b, threads=2)
    for session in (engine.encoder, engine.decoder, engine.decoder_past):
        assert session.get_session_options().get_session_config_entry(key) == "0"
    spinning = Engine(b, threads=2, session_options=lambda o: o.add_session_config_entry(key, "1"))
    assert spinning.decoder.get_session_options().get_session_config_entry(key) == "1"
    assert engine.rows.threads == 2 and Engine(b, threads=1).rows.threads == 1
