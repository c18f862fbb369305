"""The QUALS number against a straightforward computation of the spec's formula (§6) with PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from quals import Scorer
from quals.search import Hypothesis

SOURCE = "Anna built a bridge in Paris in 1990, and Chen sold the harbour in Oslo."
SUMMARY = "Anna built a bridge in Paris."
QAS = [("Who built a bridge?", "Anna"), ("Where was the bridge built?", "Paris"), ("What did Anna build?", "a bridge")]


def _injected_scorer(bundle, variant):
    """A scorer whose search returns fixed QA hypotheses with known (penalised) token scores."""
    scorer = Scorer.load(bundle, variant=variant)
    m, c = scorer.manifest, scorer.codec
    rng = np.random.default_rng(0)
    hyps = []
    for q, a in QAS:
        toks = tuple(c.text_ids(q) + [m.separator.id] + c.text_ids(a) + [m.tokens.eos])
        scores = tuple(float(x) for x in -rng.uniform(0.1, 3.0, size=len(toks)))
        hyps.append(Hypothesis(toks, scores, sum(scores) / len(toks), True))
    scorer.search = lambda enc, opts: list(hyps)
    return scorer, hyps


def _torch_logp(model, torch, src_ids, tgt, start):
    with torch.no_grad():
        logits = model(
            input_ids=torch.tensor([list(src_ids)]), decoder_input_ids=torch.tensor([[start] + list(tgt[:-1])])
        ).logits
    return torch.log_softmax(logits, -1)[0, torch.arange(len(tgt)), torch.tensor(tgt)].double().numpy()


@pytest.mark.torch
@pytest.mark.parametrize("family", ["bart", "t5"])
@pytest.mark.parametrize("variant", ["paper", "clean", "ans_lm"])
def test_quals_equals_reference_formula(family, variant, bundle_for, checkpoint_for):
    import torch
    from transformers import AutoModelForSeq2SeqLM

    scorer, hyps = _injected_scorer(bundle_for(family), variant)
    m = scorer.manifest
    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint_for(family)).eval()
    # the spec's encoding: text tokens (no BOS) + EOS, source and summary alike
    src = scorer.codec.text_ids(SOURCE) + [m.tokens.eos]
    summ = scorer.codec.text_ids(SUMMARY) + [m.tokens.eos]
    ignore = set(m.ans_lm_ignore_ids) | {m.tokens.eos}
    terms = []
    for h in hyps:
        lx = _torch_logp(model, torch, src, h.tokens, m.tokens.decoder_start)
        ly = _torch_logp(model, torch, summ, h.tokens, m.tokens.decoder_start)
        search = np.array(h.token_scores)
        if variant == "paper":
            terms.append(lx.mean() - search.mean())
        elif variant == "clean":
            terms.append(lx.mean() - ly.mean())
        else:
            sep = h.tokens.index(m.separator.id)
            idx = [i for i in range(sep + 1, len(h.tokens)) if h.tokens[i] not in ignore]
            terms.append(float((lx[idx] - search[idx]).sum()))
    result = scorer.score_one(SOURCE, SUMMARY)
    assert result.status == "ok" and result.n_pairs == len(QAS)
    assert result.quals == pytest.approx(float(np.mean(terms)), abs=1e-4)
    by_tokens = {h.tokens: h for h in hyps}
    assert set(by_tokens) == {p.tokens for p in result.pairs}
    for p in result.pairs:  # the details carry what the score was made of
        h = by_tokens[p.tokens]
        assert p.search_scores == pytest.approx(h.token_scores)
        assert p.s_x == pytest.approx(
            np.mean(_torch_logp(model, torch, src, h.tokens, m.tokens.decoder_start)), abs=1e-4
        )


def test_summaries_sharing_a_source_encode_it_once(bart_bundle):
    scorer, _ = _injected_scorer(bart_bundle, "paper")
    encoded = []
    real = scorer.engine.encode
    scorer.engine.encode = lambda ids: encoded.append(tuple(ids)) or real(ids)
    results = scorer.score([SOURCE, SOURCE, "Another source."], [SUMMARY, SUMMARY + " Again.", SUMMARY])
    assert [r.status for r in results] == ["ok"] * 3
    src_ids = tuple(scorer.codec.encode(SOURCE).ids)
    assert encoded.count(src_ids) == 1
    assert results[0].quals == pytest.approx(scorer.score_one(SOURCE, SUMMARY).quals, abs=1e-6)


def test_bad_records_get_a_status_and_the_rest_goes_on(bart_bundle):
    scorer, _ = _injected_scorer(bart_bundle, "paper")
    results = scorer.score([SOURCE, "  ", SOURCE, SOURCE], [SUMMARY, SUMMARY, "\n\t ", "Nothing in common here."])
    assert [r.status for r in results] == ["ok", "error", "error", "no_qa_pairs"]
    assert "source is empty" in results[1].error and "summary is empty" in results[2].error
    assert results[3].quals is None and results[3].n_pairs == 0


def test_long_source_is_truncated_and_flagged(bart_bundle):
    scorer, _ = _injected_scorer(bart_bundle, "paper")
    long_source = " ".join([SOURCE] * 40)
    r = scorer.score_one(long_source, SUMMARY)
    limit = scorer.manifest.encoding.max_source_tokens
    assert r.status == "ok" and r.source_truncated and r.source_tokens > limit
    assert not scorer.score_one(SOURCE, SUMMARY).source_truncated


def test_a_source_is_encoded_once_across_calls_and_the_numbers_do_not_change(bart_bundle):
    """One record per call (each written as soon as it is scored) costs no extra encoder pass for a shared source."""
    from quals.bundle import load_bundle
    from quals.engine import Engine
    from quals.options import default_options

    class CountingEngine(Engine):
        encoder_calls = 0

        def run_session(self, session, names, feeds):
            if session is self.encoder:
                CountingEngine.encoder_calls += 1
            return super().run_session(session, names, feeds)

    b = load_bundle(bart_bundle)
    scorer = Scorer(b, CountingEngine(b), default_options(b))
    scorer.search = lambda enc, opts: list(hyps)  # pairs whose answers are in every summary below
    together = Scorer.load(bart_bundle)
    together.search = scorer.search
    m, c = scorer.manifest, scorer.codec
    hyps = [Hypothesis(tuple(c.text_ids(q) + [m.separator.id] + c.text_ids(a) + [m.tokens.eos]),
                       (-0.5,) * (len(c.text_ids(q)) + len(c.text_ids(a)) + 2), -0.5)
            for q, a in (("Who built it?", "Anna"), ("What?", "bridge"))]
    source = "Anna Smith built a bridge in Paris in 1990. It cost four million francs."
    summaries = ["Anna built a bridge.", "The bridge of Anna is in Paris.", "Anna's bridge cost four million francs."]
    one_by_one = [scorer.score([source], [s])[0] for s in summaries]
    assert all(r.n_pairs == 2 for r in one_by_one)
    assert CountingEngine.encoder_calls == len(summaries) + 1  # each summary, and the source once
    batch = together.score([source] * 3, summaries)
    assert [r.to_dict(details=True) for r in one_by_one] == [r.to_dict(details=True) for r in batch]


def test_windows_cover_the_whole_text_half_overlapping(bart_bundle):
    from quals import Scorer

    codec = Scorer.load(bart_bundle).codec
    text = " ".join(f"word{i}" for i in range(60))
    ids = codec.text_ids(text)
    assert codec.windows("a short text", 16) == [codec.encode("a short text", 16)]
    wins = codec.windows(text, 16)
    assert len(ids) > 16 and all(not w.truncated and w.n_text_tokens == len(ids) for w in wins)
    eos = codec.tokens.eos
    bodies = [list(w.ids[:-1]) if w.ids[-1] == eos else list(w.ids) for w in wins]
    assert all(len(b) == 16 for b in bodies)
    assert bodies[0] == ids[:16] and bodies[-1] == ids[-16:]  # from the start to the end
    starts = [next(s for s in range(len(ids)) if ids[s:s + 16] == b) for b in bodies]
    assert all(b - a <= 8 for a, b in zip(starts, starts[1:]))  # half-overlapping: no token left out


DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "default"


@pytest.mark.skipif(not (DEFAULT_MODEL / "quals.json").is_file(), reason="no models/default in this checkout")
def test_source_windows_take_each_pairs_best_window():
    bart_bundle = DEFAULT_MODEL  # real pairs: the trained model
    from quals import Scorer

    source = " ".join(["The council met on Monday and talked about roads."] * 6 + ["Anna built a bridge in Paris."])
    summary = "Anna built a bridge in Paris."
    kw = dict(num_beams=6, num_groups=3, max_source_tokens=24, threads=1)
    plain, windowed = Scorer.load(bart_bundle, **kw), Scorer.load(bart_bundle, source_windows=True, **kw)
    assert "win:half" in windowed.signature() and "win:" not in plain.signature()
    r_plain, t_win = plain.score_one(source, summary), windowed.trace(source, summary)
    assert r_plain.source_truncated and not t_win.result.source_truncated
    windows = windowed.codec.windows(source, 24)
    assert len(windows) > 2 and t_win.selected  # several windows, and pairs to score on them
    eng = windowed.engine
    per_window = [eng.teacher_forced(eng.encode(w.ids), [p.tokens for p in t_win.selected]) for w in windows]
    for pair, lps in zip(t_win.result.pairs, zip(*per_window)):
        best = max(lps, key=lambda lp: float(lp.mean()))
        assert pair.logp_source == tuple(float(x) for x in best)
        assert pair.s_x >= max(float(lp.mean()) for lp in lps) - 1e-6
    # The first window is the plain scorer's source: a pair is never worse supported with windows.
    assert [a.tokens for a in r_plain.pairs] == [b.tokens for b in t_win.result.pairs]
    assert all(b.s_x >= a.s_x for a, b in zip(r_plain.pairs, t_win.result.pairs))
    assert any(b.s_x > a.s_x for a, b in zip(r_plain.pairs, t_win.result.pairs))  # the last window helps
    # A source within the limit is one window: the same numbers, bit for bit.
    short = "Anna built a bridge in Paris in 1990."
    assert (Scorer.load(bart_bundle, source_windows=True, **{**kw, "max_source_tokens": None}).score_one(short, summary)
            .pairs == Scorer.load(bart_bundle, **{**kw, "max_source_tokens": None}).score_one(short, summary).pairs)
