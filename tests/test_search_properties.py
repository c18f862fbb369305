"""Properties of both searches on random lookup-table models (no ONNX), checked with hypothesis."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from quals.search import SearchOptions, run_search

BOS, PAD, EOS = 0, 1, 2


class Table:
    """logits = A[last token] + B[step]; a cheap deterministic step function."""

    def __init__(self, seed: int, vocab: int, steps: int, eos_slope: float):
        rng = np.random.default_rng(seed)
        self.A = (2.0 * rng.standard_normal((vocab, vocab))).astype(np.float32)
        self.B = (2.0 * rng.standard_normal((steps + 2, vocab))).astype(np.float32)
        self.B[:, EOS] += (eos_slope * np.arange(steps + 2)).astype(np.float32)
        self.t = 0

    def __call__(self, tokens, parents):
        x = self.A[tokens] + self.B[self.t]
        self.t += 1
        x = x - x.max(-1, keepdims=True)
        return (x - np.log(np.exp(x).sum(-1, keepdims=True))).astype(np.float32)


params = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 10_000),
        "vocab": st.integers(8, 40),
        "groups": st.integers(1, 4),
        "per_group": st.integers(1, 3),
        "strength": st.sampled_from([0.0, 0.3, 0.5, 1.0]),
        "min_len": st.integers(0, 4),
        "extra_len": st.integers(1, 8),
        "eos_slope": st.sampled_from([0.0, 0.5, 1.5]),
    }
)


def _fairseq(p, strength=None, groups=None):
    g = p["groups"] if groups is None else groups
    opts = SearchOptions(
        search="fairseq",
        num_beams=g * p["per_group"],
        num_groups=g,
        diversity=p["strength"] if strength is None else strength,
        min_length=p["min_len"],
        max_length=p["min_len"] + p["extra_len"],
    )
    model = Table(p["seed"], p["vocab"], opts.max_length, p["eos_slope"])
    return opts, run_search(model, opts, decoder_start=EOS, eos=EOS, pad=PAD)


@settings(max_examples=60, deadline=None)
@given(params)
def test_fairseq_hypotheses_are_sorted_bounded_and_pad_free(p):
    opts, hyps = _fairseq(p)
    assert len(hyps) == opts.num_beams  # EOS is forced at max_length, so the list always fills
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True)
    for h in hyps:
        assert h.finished and h.tokens[-1] == EOS and EOS not in h.tokens[:-1]
        assert PAD not in h.tokens
        assert opts.min_length + 1 <= len(h.tokens) <= opts.max_length + 1
        assert np.isclose(h.score, sum(h.token_scores) / len(h.tokens), atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(params)
def test_fairseq_one_group_ignores_strength_and_equals_plain_beam_search(p):
    _, a = _fairseq(p, strength=0.0, groups=1)
    _, b = _fairseq(p, strength=1.0, groups=1)
    assert [h.tokens for h in a] == [h.tokens for h in b]
    opts = SearchOptions(
        search="fairseq",
        num_beams=p["per_group"],
        num_groups=1,
        min_length=p["min_len"],
        max_length=p["min_len"] + p["extra_len"],
    )
    ref = _plain_beam_search(Table(p["seed"], p["vocab"], opts.max_length, p["eos_slope"]), opts)
    assert [h.tokens for h in a] == [t for t, _ in ref]
    np.testing.assert_allclose([h.score for h in a], [s for _, s in ref], atol=1e-4)


def _plain_beam_search(model, opts):
    """A from-scratch fairseq-style beam search (one group): top-2k over all beams, EOS among the first k
    finalizes, the first k others continue; EOS forced at max_length, forbidden before min_length."""
    k = opts.num_beams
    beams = [((), 0.0)]  # (tokens, cumulative) ; at step 0 only one distinct prefix
    parents_rows = [0]
    done = []
    last = np.full(k, EOS)
    prev = None
    for t in range(opts.max_length + 1):
        lp = model(last, prev).astype(np.float64)
        lp[:, PAD] = -np.inf
        if t >= opts.max_length:
            keep = lp[:, EOS].copy()
            lp[:] = -np.inf
            lp[:, EOS] = keep
        elif t < opts.min_length:
            lp[:, EOS] = -np.inf
        cands = []
        rows = [0] if t == 0 else range(len(beams))
        for r in rows:
            toks, cum = beams[r]
            for v in range(lp.shape[1]):
                cands.append((cum + lp[parents_rows[r] if t else 0, v], r * lp.shape[1] + v, r, v))
        cands.sort(key=lambda c: (-c[0], c[1]))
        cands = cands[: 2 * k]
        for score, _, r, v in cands[:k]:
            if v == EOS and np.isfinite(score) and len(done) < k:
                done.append((beams[r][0] + (EOS,), score / (t + 1)))
        if len(done) >= k or t == opts.max_length:
            break
        nxt = [c for c in cands if not (c[3] == EOS and np.isfinite(c[0]))][:k]
        prev = np.array([c[2] for c in nxt])
        last = np.array([c[3] for c in nxt])
        beams = [(beams[c[2]][0] + (c[3],), c[0]) for c in nxt]
        parents_rows = list(range(k))
    return sorted(done, key=lambda d: -d[1])


@settings(max_examples=40, deadline=None)
@given(params)
def test_hf_hypotheses_are_sorted_and_within_max_length(p):
    opts = SearchOptions(
        search="hf",
        num_beams=max(2, p["groups"] * p["per_group"]),
        num_groups=1,
        min_length=p["min_len"],
        max_length=p["min_len"] + p["extra_len"] + 1,
    )
    hyps = run_search(
        Table(p["seed"], p["vocab"], opts.max_length, p["eos_slope"]), opts, decoder_start=EOS, eos=EOS, pad=PAD
    )
    scores = [h.score for h in hyps]
    assert scores == sorted(scores, reverse=True) and len(hyps) == opts.num_beams
    for h in hyps:
        assert len(h.tokens) <= opts.max_length - 1  # max_length counts the decoder start token
        assert h.finished == (h.tokens[-1:] == (EOS,))
        if h.finished:
            assert len(h.tokens) + 1 > opts.min_length - 1
