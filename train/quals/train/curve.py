"""The learning curve's XQuAD-en probe: gold NLL and span rate of the model being trained, on a fixed sample.

XQuAD-en (SQuAD 1.1 dev paragraphs, never trained on) is the set the model card's QA quality is measured on
(quals.train.qa_quality, on an exported bundle with the authors' 60-beam search). The probe runs inside the
training process on the PyTorch model, so it is cheaper and only a proxy for those figures:
- gold NLL: mean per-token NLL of the gold (question, separator, answer, EOS), teacher-forced on the paragraph,
  over a seeded sample of `gold_contexts` paragraphs (the card's figure takes every paragraph);
- answer gap and swap AUC: the same gold questions with the answer of another paragraph's question (which the
  paragraph does not support): the mean per-token log-prob of the true answer (its pieces and EOS) minus that of
  the swapped one, and the ROC-AUC of true over swapped answers pooled over pairs. This is the signal the QUALS
  score reads (an answer the source does not support must be unlikely), so it shows whether a training choice
  (label smoothing, say) blunts it;
- span rate: of the hypotheses of a diverse beam search (`beams` groups of one beam) on `gen_contexts` paragraphs
  that split into question and answer, the share whose answer occurs in the paragraph (lower-cased, as the
  uncased tokenizer sees it).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from . import data, loop


def xquad_probe(path: Path, tok, sep_id: int, eos_id: int, *, max_source: int, gold_contexts: int = 60,
                gen_contexts: int = 12, beams: int = 10, seed: int = 0) -> Callable[..., dict]:
    """A function model -> {"xquad_gold_nll", "xquad_answer_gap", "xquad_swap_auc", "xquad_span_rate"} over a
    sample fixed here, once."""
    by_ctx: dict[str, list[dict]] = {}
    for r in data.read_jsonl(path):
        by_ctx.setdefault(r["context"], []).append(r)
    contexts = sorted(by_ctx)
    rng = random.Random(seed)
    gold = rng.sample(contexts, min(gold_contexts, len(contexts)))
    gen = rng.sample(contexts, min(gen_contexts, len(contexts)))
    examples = [data.QAExample(c, r["question"].strip(), data.answer_texts(r)[0].strip(), "xquad", "long")
                for c in gold for r in by_ctx[c]]
    groups = loop.encode_groups(examples, tok, sep_id, eos_id, max_source)
    # each target again with the answer of a target of another group: (group, target index, swapped target)
    swaps = []
    for g, (_, targets) in enumerate(groups):
        for k, t in enumerate(targets):
            other = groups[(g + rng.randint(1, len(groups) - 1)) % len(groups)][1]
            o = other[rng.randrange(len(other))]
            if o[o.index(sep_id):] != t[t.index(sep_id):]:
                swaps.append((g, k, t[:t.index(sep_id)] + o[o.index(sep_id):]))
    gen_ids = [tok(c, add_special_tokens=False)["input_ids"][:max_source] + [eos_id] for c in gen]
    views = [tok.decode(ids[:-1]).lower() for ids in gen_ids]

    def probe(model) -> dict:
        import torch

        cfg = model.config
        nll, n = 0.0, 0
        answer_lp: dict[tuple[int, int], list[float]] = {}
        for g, (src, targets) in enumerate(groups):
            mine = [(k, t) for gg, k, t in swaps if gg == g]
            rows = [(src, list(targets) + [t for _, t in mine])]
            batch = [t.to(model.device) for t in loop.collate(rows, [0], cfg.pad_token_id, cfg.decoder_start_token_id)]
            logits, gold_ids = loop.token_logits(model, *batch)
            lp = torch.log_softmax(logits.float(), -1).gather(1, gold_ids[:, None])[:, 0].tolist()
            at = 0
            for r, t in enumerate(rows[0][1]):
                row, at = lp[at:at + len(t)], at + len(t)
                if r < len(targets):
                    nll -= sum(row)
                    n += len(row)
                k = r if r < len(targets) else mine[r - len(targets)][0]
                ans = row[t.index(sep_id) + 1:]
                answer_lp.setdefault((g, k), []).append(sum(ans) / len(ans))
        pairs = [v for v in answer_lp.values() if len(v) == 2]
        gap = sum(a - b for a, b in pairs) / max(1, len(pairs))
        true, swapped = [a for a, _ in pairs], [b for _, b in pairs]
        auc = sum((a > b) + 0.5 * (a == b) for a in true for b in swapped) / max(1, len(true) * len(swapped))
        split = span = 0
        for ids, view in zip(gen_ids, views):
            out = model.generate(torch.tensor([ids], device=model.device), attention_mask=torch.ones(1, len(ids),
                                 dtype=torch.long, device=model.device), num_beams=beams, num_beam_groups=beams,
                                 diversity_penalty=0.5, num_return_sequences=beams, max_length=60, min_length=8,
                                 decoder_start_token_id=cfg.decoder_start_token_id, eos_token_id=eos_id,
                                 early_stopping=True, do_sample=False)
            for row in out.tolist():
                row = [t for t in row if t not in (cfg.pad_token_id, cfg.decoder_start_token_id)]
                if sep_id not in row:
                    continue
                answer = tok.decode(row[row.index(sep_id) + 1:], skip_special_tokens=True).strip().lower()
                split += 1
                span += bool(answer) and answer in view
        return {"xquad_gold_nll": nll / max(1, n), "xquad_answer_gap": gap, "xquad_swap_auc": auc,
                "xquad_span_rate": span / max(1, split)}

    return probe
