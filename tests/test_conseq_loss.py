"""The ConSeq loss (quals-spec 7.2) against a hand computation, token by token, on a tiny BART."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.torch


def _hand(logits_rows, targets, pad, eps, unlikely: bool) -> tuple[float, int]:
    """Sum of the per-token terms, written out with math on Python floats from the softmax."""
    total, n = 0.0, 0
    for row_logits, row_target in zip(logits_rows, targets):
        for logit, y in zip(row_logits, row_target):
            if y == pad:
                continue
            m = max(logit)
            z = sum(math.exp(v - m) for v in logit)
            p = [math.exp(v - m) / z for v in logit]
            if unlikely:
                term_y = -math.log(max(1.0 - p[y], 1e-20))
                smooth = -sum(math.log(max(1.0 - pv, 1e-20)) for pv in p)
            else:
                term_y = -math.log(p[y])
                smooth = -sum(math.log(pv) for pv in p)
            total += (1 - eps) * term_y + eps / len(p) * smooth
            n += 1
    return total, n


def test_loss_equals_the_hand_computation_on_a_tiny_bart(checkpoint_for):
    import torch
    from quals.train.conseq_loss import conseq_loss
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    path = checkpoint_for("bart")
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSeq2SeqLM.from_pretrained(path).eval()
    pad = tok.pad_token_id
    src = tok(["Anna built a bridge in Paris in 1990.", "Chen sold the school in Oslo."], return_tensors="pt",
              padding=True)
    pos = tok(["Anna built a bridge.", "Chen sold it."], return_tensors="pt", padding=True).input_ids
    neg = tok(["Boris built three houses in Lima.", "Chen sold two parks."], return_tensors="pt",
              padding=True).input_ids
    assert (pos == pad).any() and (neg == pad).any()  # both batches are padded: the mask is exercised
    with torch.no_grad():
        pl = model(**src, labels=pos).logits
        nl = model(**src, labels=neg).logits
        loss, n = conseq_loss(pl, pos, nl, neg, pad_id=pad, epsilon=0.1)
    hp, np_ = _hand(pl.tolist(), pos.tolist(), pad, 0.1, unlikely=False)
    hn, nn_ = _hand(nl.tolist(), neg.tolist(), pad, 0.1, unlikely=True)
    assert n == np_ + nn_
    assert float(loss) == pytest.approx((hp + hn) / (np_ + nn_), rel=1e-5)


def test_the_clamp_and_the_mask():
    import torch
    from quals.train.conseq_loss import conseq_loss, unlikelihood_terms

    # A token the model is certain of: 1 - p = 0 is clamped to 1e-20, so its term is finite (46.05 nats).
    logits = torch.tensor([[[0.0, 200.0, 0.0]]])
    t = unlikelihood_terms(logits, torch.tensor([[1]]), epsilon=0.0)
    assert float(t) == pytest.approx(-math.log(1e-20), rel=1e-6)
    # Padding contributes nothing and is not counted: the same as the unpadded rows alone.
    lg = torch.randn(1, 3, 5, generator=torch.Generator().manual_seed(0))
    full, n_full = conseq_loss(lg, torch.tensor([[1, 2, 3]]), lg, torch.tensor([[4, 0, 0]]), pad_id=0)
    part, n_part = conseq_loss(lg, torch.tensor([[1, 2, 3]]), lg[:, :1], torch.tensor([[4]]), pad_id=None)
    assert n_full == n_part == 4
    assert float(full) == pytest.approx(float(part), rel=1e-6)


def test_the_finetuning_example_runs_on_a_built_set(tmp_path):
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("conseq_finetune", ROOT / "examples" / "conseq_finetune.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    data = tmp_path / "set"
    data.mkdir()
    (data / "train.source").write_text("Anna built a bridge in Paris in 1990.\nChen sold the school in Oslo.\n")
    (data / "train.target").write_text("Anna built a bridge.\nChen sold the school.\n")
    (data / "train.untarget").write_text("Boris built a bridge in Lima.\nChen bought two parks.\n")
    losses = example.main(["--data", str(data), "--steps", "3", "--lr", "1e-3", "--out", str(tmp_path / "out")])
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    assert (tmp_path / "out" / "config.json").is_file()
    (data / "train.untarget").write_text("one line only\n")
    with pytest.raises(SystemExit, match="not aligned"):
        example.main(["--data", str(data), "--steps", "1", "--out", str(tmp_path / "out2")])
