"""transformers' group beam search (4.53-4.56 `_group_beam_search` + `BeamSearchScorer`), in numpy.

Same numbers give the same hypotheses as `model.generate(num_beams=..., num_beam_groups=...,
diversity_penalty=..., min_length=..., max_length=..., length_penalty=..., early_stopping=...,
num_return_sequences=...)`, including its quirks:

* the Hamming penalty counts the tokens that earlier groups *selected* at this step (a finished group
  keeps emitting pad, which is counted too);
* every group keeps its own list of `num_beams / num_groups` finished hypotheses; the lists are merged
  and sorted only at the end, so duplicates across groups are returned as they are;
* `max_length` counts the decoder start token and ends the search without forcing EOS (a capped
  hypothesis has no EOS); `min_length` also counts it;
* beams of a group start at -1e9 except the first, so step 0 expands one prefix per group.
With one beam this is greedy search, with one group plain beam search.
"""

from __future__ import annotations

import numpy as np

from .base import Hypothesis, SearchOptions, StepFn, cumulative_to_deltas, top_k


class _GroupHyps:
    """transformers' BeamHypotheses: the n best finished sequences of one group."""

    def __init__(self, n: int, opts: SearchOptions):
        self.n, self.opts = n, opts
        self.beams: list[tuple[float, tuple[int, ...], tuple[float, ...], bool]] = []
        self.worst = 1e9
        self.done = False

    def add(self, tokens, cumulative, sum_logprobs: float, generated_len: int, finished: bool) -> None:
        score = sum_logprobs / (generated_len**self.opts.length_penalty)
        if len(self.beams) < self.n or score > self.worst:
            self.beams.append((score, tuple(tokens), cumulative_to_deltas(cumulative), finished))
            if len(self.beams) > self.n:
                ranked = sorted((s, i) for i, (s, *_rest) in enumerate(self.beams))
                del self.beams[ranked[0][1]]
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum: float, cur_len: int) -> bool:
        if len(self.beams) < self.n:
            return False
        es, lp = self.opts.early_stopping, self.opts.length_penalty
        if es is True:
            return True
        if es is False or lp <= 0.0:
            return self.worst >= best_sum / (cur_len - 1) ** lp
        return self.worst >= best_sum / (self.opts.max_length - 1) ** lp


class _RowView:
    """Log-probs of the computed rows, indexed by full row numbers (only rows of live groups are read)."""

    def __init__(self, values: np.ndarray, rows: np.ndarray, n: int):
        self.values = values
        self.position = np.full(n, -1, dtype=np.int64)
        self.position[rows] = np.arange(len(rows))
        self.shape = (n, values.shape[1])

    def __getitem__(self, rows: slice) -> np.ndarray:
        lo = self.position[rows.start]
        return self.values[lo : lo + (rows.stop - rows.start)]


def hf_group_beam_search(
    step: StepFn, opts: SearchOptions, *, decoder_start: int, eos: int, pad: int
) -> list[Hypothesis]:
    n, n_groups = opts.num_beams, opts.num_groups
    m = n // n_groups
    k = 2 * m
    beam_scores = np.full(n, -1e9, dtype=np.float32)
    beam_scores[::m] = 0.0
    prefixes = [[] for _ in range(n)]  # generated tokens per row (decoder start excluded)
    cumul = [[] for _ in range(n)]  # cumulative float32 scores after each generated token
    groups = [_GroupHyps(m, opts) for _ in range(n_groups)]
    tokens = np.full(n, decoder_start, dtype=np.int64)
    parents = None
    active = np.arange(n)  # rows of groups not done: the only rows the step function computes
    cur_len = 1  # transformers counts the decoder start token
    while True:
        logp_active = step(tokens[active], parents)
        logp = _RowView(logp_active, active, n)
        current = np.zeros(n, dtype=np.int64)
        reorder = np.zeros(n, dtype=np.int64)
        new_prefixes, new_cumul = [None] * n, [None] * n
        vocab = logp.shape[1]
        for g in range(n_groups):
            rows = slice(g * m, (g + 1) * m)
            hyps = groups[g]
            if hyps.done:
                beam_scores[rows] = 0.0
                current[rows] = pad
                reorder[rows] = g * m
                for r in range(g * m, (g + 1) * m):
                    new_prefixes[r], new_cumul[r] = prefixes[g * m], cumul[g * m]
                continue
            s = logp[rows]  # a view of this step's fresh log-probs (the StepFn contract): ours to edit
            if g > 0 and opts.diversity > 0:
                freq = np.bincount(current[: g * m], minlength=vocab).astype(np.float32)
                s -= np.float32(opts.diversity) * freq
            if cur_len < opts.min_length:
                s[:, eos] = -np.inf
            s += beam_scores[rows, None]
            scores = s.reshape(-1)
            top = top_k(scores, k)
            best_sum = float(scores[top[0]])
            filled = 0
            for rank, flat in enumerate(top):
                parent = g * m + int(flat // vocab)
                tok = int(flat % vocab)
                value = scores[flat]
                if tok == eos:
                    if rank >= m:
                        continue
                    hyps.add(
                        prefixes[parent] + [eos], cumul[parent] + [value], float(value), len(prefixes[parent]) + 1, True
                    )
                else:
                    r = g * m + filled
                    beam_scores[r] = value
                    current[r] = tok
                    reorder[r] = parent
                    new_prefixes[r] = prefixes[parent] + [tok]
                    new_cumul[r] = cumul[parent] + [value]
                    filled += 1
                if filled == m:
                    break
            hyps.done = hyps.is_done(best_sum, cur_len + 1)
        prefixes, cumul = new_prefixes, new_cumul
        tokens = current
        cur_len += 1
        if all(h.done for h in groups) or cur_len >= opts.max_length:
            break
        # A done group's rows only emit pad, which the penalty counts from `current`, not from log-probs:
        # drop them from the next step (the rows of a live group descend from rows of the same group).
        active = np.flatnonzero(np.repeat([not h.done for h in groups], m))
        parents = logp.position[reorder[active]]
    for g, hyps in enumerate(groups):
        if hyps.done:
            continue
        for r in range(g * m, (g + 1) * m):
            hyps.add(prefixes[r], cumul[r], float(beam_scores[r]), len(prefixes[r]), False)
    candidates = [b for h in groups for b in h.beams]
    ranked = sorted(candidates, key=lambda b: b[0])  # stable, as transformers; best popped from the end
    out = []
    for _ in range(min(opts.returned, len(ranked))):
        score, toks, deltas, finished = ranked.pop()
        out.append(Hypothesis(toks, deltas, float(score), finished))
    return out
