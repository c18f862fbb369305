"""Searches over a step function: transformers' group beam search ("hf") and fairseq 0.9's ("fairseq")."""

from __future__ import annotations

from .base import SEARCHES, Hypothesis, SearchOptions, StepFn
from .hf import hf_group_beam_search


def run_search(step: StepFn, opts: SearchOptions, *, decoder_start: int, eos: int, pad: int) -> list[Hypothesis]:
    """Run the search `opts.search` names; hypotheses come back in the order that search returns them."""
    if opts.search == "hf":
        return hf_group_beam_search(step, opts, decoder_start=decoder_start, eos=eos, pad=pad)
    from .fairseq import fairseq_diverse_beam_search

    return fairseq_diverse_beam_search(step, opts, decoder_start=decoder_start, eos=eos, pad=pad)


__all__ = ["SEARCHES", "Hypothesis", "SearchOptions", "StepFn", "run_search"]
