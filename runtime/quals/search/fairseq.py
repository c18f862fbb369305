"""fairseq 0.9's SequenceGenerator + DiverseBeamSearch (Hamming diversity), the search the QUALS authors ran.

docs/search.md describes it (tests/test_search_fairseq_golden.py checks it against fairseq's own
outputs); in short, per step t = 0..max_length:

* pad is never chosen; at t == max_length only EOS is allowed, else EOS is forbidden while t < min_length;
* groups are processed in order; group g's rows get `-diversity x count[v]`, count[v] being how many of the
  top-2m candidates of earlier groups had token v (runner-ups and EOS candidates count too);
* the candidates are interleaved (r-th candidate of every group, then the (r+1)-th...); among the first
  `num_beams`, each EOS with a finite score finalizes its parent's tokens + EOS, until `num_beams` are
  finalized; the next slots are the first `num_beams` other candidates in that order, so a hypothesis
  can move to another group when an earlier candidate ended;
* every score carries the penalties it collected; a finalized hypothesis's normalised score is
  sum / length ** length_penalty with EOS counted in the length; per-token scores are differences of
  the cumulative scores. The result is sorted by score, descending, stable.

Units: `min_length` is the number of tokens before EOS at least, `max_length` at most (EOS forced after it).
"""

from __future__ import annotations

import numpy as np

from .base import Hypothesis, SearchOptions, StepFn, cumulative_to_deltas, top_k


def fairseq_diverse_beam_search(
    step: StepFn, opts: SearchOptions, *, decoder_start: int, eos: int, pad: int
) -> list[Hypothesis]:
    n, n_groups = opts.num_beams, opts.num_groups
    m = n // n_groups
    penalty = np.float32(-opts.diversity)
    tokens = np.zeros((n, 0), dtype=np.int64)  # generated tokens per slot (the leading EOS/start excluded)
    cumul = np.zeros((n, 0), dtype=np.float32)  # cumulative score after each token
    finalized: list[tuple[float, int, Hypothesis]] = []
    last = np.full(n, decoder_start, dtype=np.int64)
    parents = None
    for t in range(opts.max_length + 1):
        logp = np.asarray(step(last, parents), dtype=np.float32)  # fresh (the StepFn contract): no copy
        vocab = logp.shape[1]
        logp[:, pad] = -np.inf
        if t >= opts.max_length:
            keep = logp[:, eos].copy()
            logp[:] = -np.inf
            logp[:, eos] = keep
        elif t < opts.min_length:
            logp[:, eos] = -np.inf
        count = np.zeros(vocab, dtype=np.float32)
        cand_score = np.empty((2 * m, n_groups), dtype=np.float32)
        cand_token = np.empty((2 * m, n_groups), dtype=np.int64)
        cand_parent = np.empty((2 * m, n_groups), dtype=np.int64)
        for g in range(n_groups):
            rows = np.arange(g, n, n_groups)
            s = logp[rows[:1] if t == 0 else rows]
            if g > 0:
                s = s + penalty * count
            if t > 0:
                s = s + cumul[rows, -1:]
            flat = s.reshape(-1)
            k = min(2 * m, flat.size - 1)
            top = top_k(flat, k)
            toks = top % vocab
            np.add.at(count, toks, 1.0)
            cand_score[:k, g] = flat[top]
            cand_token[:k, g] = toks
            cand_parent[:k, g] = (top // vocab) * n_groups + g
        order = [(r, g) for r in range(2 * m) for g in range(n_groups)]  # the interleaved list L
        ended = (cand_token == eos) & np.isfinite(cand_score)
        for r, g in order[:n]:
            if len(finalized) >= n:
                break
            if ended[r, g]:
                score, p = cand_score[r, g], cand_parent[r, g]
                c = np.append(cumul[p], score)
                length = t + 1
                norm = np.float32(score / np.float32(length) ** np.float32(opts.length_penalty))
                h = Hypothesis(
                    tuple(int(x) for x in tokens[p]) + (eos,),
                    cumulative_to_deltas(c),
                    float(norm),
                    True,
                    {"unnormalized_score": float(norm) * length**opts.length_penalty, "group": int(g), "step": t},
                )
                finalized.append((float(norm), len(finalized), h))
        if len(finalized) >= n or t == opts.max_length:
            break
        rs, gs = np.array([(r, g) for r, g in order if not ended[r, g]][:n]).T
        parents, last = cand_parent[rs, gs], cand_token[rs, gs]
        tokens = np.concatenate([tokens[parents], last[:, None]], axis=1)
        cumul = np.concatenate([cumul[parents], cand_score[rs, gs][:, None]], axis=1)
    finalized.sort(key=lambda x: (-x[0], x[1]))
    return [h for _, _, h in finalized]
