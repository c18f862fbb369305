"""`fairseq` search against fairseq 0.9's own outputs (shared/data/fairseq-dbs-golden).

The golden vectors come from running the authors' fairseq fork on a lookup-table model:
logits[v] = A[source, last token, v] + B[step, v]. The same table drives our search as a step function.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from quals.search import SearchOptions, run_search

GOLDEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "fairseq-dbs-golden"
if not (GOLDEN / "cases.json").is_file():
    pytest.skip(
        f"golden vectors not found at {GOLDEN} (they live in ../shared beside the checkout)", allow_module_level=True
    )

CASES = json.loads((GOLDEN / "cases.json").read_text())["cases"]
TABLES = np.load(GOLDEN / "cases.npz")


def log_softmax32(x):
    m = x.max(axis=-1, keepdims=True)
    s = x - m
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


class TableModel:
    """The golden README's toy decoder, as a step function (it tracks nothing but the last token and step)."""

    def __init__(self, A, B, source, unk, unk_penalty):
        self.A, self.B, self.s, self.unk, self.unk_penalty = A, B, source, unk, np.float32(unk_penalty)
        self.t = 0

    def __call__(self, tokens, parents):
        logits = self.A[self.s, tokens, :] + self.B[self.t][None, :]
        self.t += 1
        lp = log_softmax32(logits.astype(np.float32))
        lp[:, self.unk] -= self.unk_penalty
        return lp


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fairseq_search_reproduces_golden_case(case):
    A, B = TABLES[case["tables"]["A"]], TABLES[case["tables"]["B"]]
    gen, voc = case["generator"], case["vocab"]
    opts = SearchOptions(
        search="fairseq",
        num_beams=gen["beam_size"],
        num_groups=case["search"]["num_groups"],
        diversity=case["search"]["diversity_strength"],
        min_length=gen["min_len"],
        max_length=case["effective_max_len"],
        length_penalty=gen["len_penalty"],
    )
    for res in case["results"]:
        step = TableModel(A, B, res["source_id"], voc["unk"], gen["unk_penalty"])
        hyps = run_search(step, opts, decoder_start=voc["eos"], eos=voc["eos"], pad=voc["pad"])
        expected = res["hypotheses"]
        assert [list(h.tokens) for h in hyps] == [e["tokens"] for e in expected]
        for h, e in zip(hyps, expected):
            np.testing.assert_allclose(h.token_scores, e["positional_scores"], atol=1e-4)
            np.testing.assert_allclose(h.score, e["score"], atol=1e-4)
            np.testing.assert_allclose(h.extra["unnormalized_score"], e["unnormalized_score"], atol=1e-4)
