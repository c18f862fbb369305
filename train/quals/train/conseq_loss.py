"""The ConSeq loss as the authors' fairseq criterion computes it (quals-spec.md section 7.2), in PyTorch.

`label_smoothed_cross_entropy_with_unlikelihood`, with epsilon = 0.1 and |V| the vocabulary size:

    positive token (S+):  l+ = -(1-eps) log p(y_t)     - (eps/|V|) sum_v log p(v)
    negative token (S-):  l- = -(1-eps) log(1 - p(y_t)) - (eps/|V|) sum_v log(1 - p(v)),  1 - p >= 1e-20
    L = (sum over S+ tokens of l+  +  sum over S- tokens of l-) / (n tokens of S+ + n tokens of S-)

Token-level unlikelihood on every token of the negative summary, EOS included, padding masked out; no
weighting coefficient; the smoothing term of the negative side sums log(1 - p(v)) over the whole
vocabulary, as the code does. A reference for users who fine-tune a summarizer on `quals conseq`'s
output (examples/conseq_finetune.py); quals itself never trains with it. Needs the `train` extra (torch).
"""

from __future__ import annotations

import torch

EPSILON = 0.1
CLAMP = 1e-20  # the authors' floor on 1 - p


def _masked(target: torch.Tensor, pad_id: int | None) -> torch.Tensor:
    return torch.ones_like(target, dtype=torch.bool) if pad_id is None else target.ne(pad_id)


def likelihood_terms(logits: torch.Tensor, target: torch.Tensor, epsilon: float = EPSILON) -> torch.Tensor:
    """l+ per token: (B, T, V) logits, (B, T) ids -> (B, T)."""
    lprobs = torch.log_softmax(logits.float(), dim=-1)
    nll = -lprobs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    smooth = -lprobs.sum(-1)
    return (1.0 - epsilon) * nll + (epsilon / lprobs.size(-1)) * smooth


def unlikelihood_terms(logits: torch.Tensor, target: torch.Tensor, epsilon: float = EPSILON) -> torch.Tensor:
    """l- per token: (B, T, V) logits, (B, T) ids -> (B, T)."""
    probs = torch.softmax(logits.float(), dim=-1)
    log_not = torch.log(torch.clamp(1.0 - probs, min=CLAMP))
    nll = -log_not.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    smooth = -log_not.sum(-1)
    return (1.0 - epsilon) * nll + (epsilon / probs.size(-1)) * smooth


def conseq_loss(pos_logits: torch.Tensor, pos_target: torch.Tensor, neg_logits: torch.Tensor,
                neg_target: torch.Tensor, *, pad_id: int | None, epsilon: float = EPSILON
                ) -> tuple[torch.Tensor, int]:
    """(L, number of tokens it is normalised by) for one S+ batch and one S- batch.

    pos_logits (B+, T+, V), pos_target (B+, T+), neg_logits (B-, T-, V), neg_target (B-, T-); targets are the
    decoder's labels (padding = `pad_id`, masked out on both sides).
    """
    pos_mask, neg_mask = _masked(pos_target, pad_id), _masked(neg_target, pad_id)
    pos = likelihood_terms(pos_logits, pos_target, epsilon).masked_fill(~pos_mask, 0.0).sum()
    neg = unlikelihood_terms(neg_logits, neg_target, epsilon).masked_fill(~neg_mask, 0.0).sum()
    n = int(pos_mask.sum()) + int(neg_mask.sum())
    return (pos + neg) / max(n, 1), n
