"""`--search hf` against transformers 4.56.2 `generate`, token for token, on exported tiny models.

The runtime decodes with ONNX Runtime and the KV cache; the reference is the PyTorch model under
transformers' own greedy, beam and group beam search. Scores are compared within 1e-4: both sides
include the diversity penalty in `sequences_scores`, and duplicates across groups are returned by both.
"""

from __future__ import annotations

import numpy as np
import pytest
from quals import Scorer

pytestmark = pytest.mark.torch

TEXTS = [
    "Anna built a bridge in Paris in 1990.",
    "Who sold the harbour? Chen sold it in Oslo, and Dana opened two parks in Lima in 2011.",
    "Café naïve résumé",
    "Emeka designed the school in Kyoto in 1921.",
    "Who? Where? 2030",
]

# (num_beams, num_groups, diversity, extra generate kwargs)
SETTINGS = [
    (1, 1, 0.0, {}),  # greedy
    (4, 1, 0.0, {}),  # plain beam search
    (5, 1, 0.0, {"length_penalty": 0.5, "num_return_sequences": 3}),
    (4, 2, 0.5, {}),
    (6, 6, 1.0, {}),  # one beam per group, as the QUALS authors run it
    (6, 3, 0.3, {"min_length": 8}),
    (8, 4, 0.7, {"length_penalty": 2.0, "num_return_sequences": 5}),
    (6, 2, 0.5, {"early_stopping": True}),
    (6, 3, 0.5, {"early_stopping": "never", "min_length": 4}),
    (12, 12, 0.5, {"min_length": 9}),
]


def _reference(model, torch, src_ids, start, eos, pad, beams, groups, div, max_length, extra):
    kwargs = dict(
        input_ids=torch.tensor([list(src_ids)]),
        max_length=max_length,
        num_beams=beams,
        do_sample=False,
        output_scores=True,
        return_dict_in_generate=True,
        **extra,
    )
    if beams > 1:
        kwargs["num_return_sequences"] = extra.get("num_return_sequences", beams)
    if groups > 1:
        kwargs.update(num_beam_groups=groups, diversity_penalty=div)
    with torch.no_grad():
        out = model.generate(**kwargs)
    seqs = []
    for row in out.sequences.tolist():
        assert row[0] == start
        body = row[1:]
        if eos in body:
            body = body[: body.index(eos) + 1]
        else:
            while body and body[-1] == pad and pad != start:
                body.pop()
        seqs.append(tuple(body))
    scores = out.sequences_scores.tolist() if beams > 1 else None
    return seqs, scores


@pytest.mark.parametrize("family", ["bart", "t5"])
@pytest.mark.parametrize(
    "setting", SETTINGS, ids=lambda s: f"b{s[0]}g{s[1]}d{s[2]}{''.join(f'-{k}{v}' for k, v in s[3].items())}"
)
def test_hf_search_matches_transformers_generate(family, setting, bundle_for, checkpoint_for):
    import torch
    from transformers import AutoModelForSeq2SeqLM

    beams, groups, div, extra = setting
    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint_for(family)).eval()
    scorer = Scorer.load(bundle_for(family))
    t = scorer.manifest.tokens
    max_length = 20
    for text in TEXTS:
        src = scorer.codec.encode(text).ids
        ref_tokens, ref_scores = _reference(
            model, torch, src, t.decoder_start, t.eos, t.pad, beams, groups, div, max_length, extra
        )
        ours = scorer.generate(
            text,
            search="hf",
            num_beams=beams,
            num_groups=groups,
            diversity=div,
            max_length=max_length,
            min_length=extra.get("min_length", 0),
            length_penalty=extra.get("length_penalty", 1.0),
            early_stopping=extra.get("early_stopping", False),
            num_return=extra.get("num_return_sequences") if beams > 1 else 1,
        )
        assert [h.tokens for h in ours] == ref_tokens, f"{family} {setting} {text!r}"
        if ref_scores is not None:
            np.testing.assert_allclose([h.score for h in ours], ref_scores, atol=1e-4)
