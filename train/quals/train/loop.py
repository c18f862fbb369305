"""Fine-tuning loop: token-budget batches, AdamW with warmup + linear decay, checkpoints and resume.

The run is a fixed number of optimizer steps (so the LR schedule and the result are reproducible); a
checkpoint (model, optimizer, scheduler, RNG, step) is written every `save_every_s` seconds and at the end,
and a rerun with the same work directory resumes from it.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .data import QAExample

log = logging.getLogger("quals.train")


@dataclass(frozen=True)
class TrainOptions:
    steps: int = 1500
    max_tokens: int = 3072  # source + target tokens per batch (padding included)
    max_source_tokens: int = 256
    lr: float = 1.5e-4
    warmup: int = 100
    final_lr_fraction: float = 0.1
    weight_decay: float = 0.01
    clip_norm: float = 1.0
    label_smoothing: float = 0.1
    seed: int = 13
    threads: int = 2
    save_every_s: float = 600.0
    device: str = "cpu"  # "cuda" on a GPU machine; checkpoints are always written for the CPU


def encode(examples: list[QAExample], tok, sep_id: int, eos_id: int, max_source: int) -> list[tuple[list, list]]:
    out = []
    for e in examples:
        src = tok(e.context, add_special_tokens=False)["input_ids"][:max_source] + [eos_id]
        q = tok(e.question, add_special_tokens=False)["input_ids"]
        a = tok(e.answer, add_special_tokens=False)["input_ids"]
        tgt = q + [sep_id] + a + [eos_id]
        if len(tgt) <= 64:
            out.append((src, tgt))
    return out


def batches(pairs: list[tuple[list, list]], max_tokens: int, rng: random.Random) -> list[list[int]]:
    """Indices grouped by source length so that padding stays small; batch order shuffled."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), rng.random()))
    out, cur, longest = [], [], 0
    for i in order:
        n = len(pairs[i][0]) + len(pairs[i][1])
        if cur and max(longest, n) * (len(cur) + 1) > max_tokens:
            out.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(pairs, idx, pad_id: int, start_id: int):
    import torch

    src = [pairs[i][0] for i in idx]
    tgt = [pairs[i][1] for i in idx]
    S, T = max(map(len, src)), max(map(len, tgt))
    input_ids = torch.full((len(idx), S), pad_id)
    attn = torch.zeros((len(idx), S), dtype=torch.long)
    dec_in = torch.full((len(idx), T), pad_id)
    labels = torch.full((len(idx), T), -100)
    for r, (s, t) in enumerate(zip(src, tgt)):
        input_ids[r, : len(s)] = torch.tensor(s)
        attn[r, : len(s)] = 1
        dec_in[r, : len(t)] = torch.tensor([start_id] + t[:-1])
        labels[r, : len(t)] = torch.tensor(t)
    return input_ids, attn, dec_in, labels


def token_logits(model, ids, attn, dec, labels):
    """Logits at the labelled positions only: the 30k-way LM head over padding is most of a step's cost."""
    import torch

    hidden = model.model(input_ids=ids, attention_mask=attn, decoder_input_ids=dec).last_hidden_state
    keep = labels != -100
    h = hidden[keep]
    logits = torch.nn.functional.linear(h, model.lm_head.weight) + model.final_logits_bias[0]
    return logits, labels[keep]


def evaluate_loss(model, pairs, opts: TrainOptions, pad_id: int, start_id: int) -> float:
    """Mean per-token NLL (no label smoothing) of the validation pairs."""
    import torch

    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for idx in batches(pairs, opts.max_tokens, random.Random(0)):
            batch = (t.to(next(model.parameters()).device) for t in collate(pairs, idx, pad_id, start_id))
            logits, gold = token_logits(model, *batch)
            total += float(torch.nn.functional.cross_entropy(logits, gold, reduction="sum"))
            n += int(gold.numel())
    model.train()
    return total / max(n, 1)


def train(model, train_pairs, val_pairs, work: Path, opts: TrainOptions) -> dict:
    import torch

    torch.manual_seed(opts.seed)
    torch.set_num_threads(opts.threads)
    model.to(opts.device)
    cfg = model.config
    pad_id, start_id = cfg.pad_token_id, cfg.decoder_start_token_id
    no_decay = ("bias", "layer_norm", "layernorm")
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
         "weight_decay": opts.weight_decay},
        {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    optim = torch.optim.AdamW(groups, lr=opts.lr, betas=(0.9, 0.999), eps=1e-8)

    def lr_at(step: int) -> float:
        if step < opts.warmup:
            return (step + 1) / opts.warmup
        frac = (step - opts.warmup) / max(1, opts.steps - opts.warmup)
        return 1.0 - (1.0 - opts.final_lr_fraction) * min(1.0, frac)

    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_at)
    work.mkdir(parents=True, exist_ok=True)
    ckpt = work / "state.pt"
    history_path = work / "history.jsonl"
    step, epoch, pos, elapsed = 0, 0, 0, 0.0
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False, map_location=opts.device)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        step, epoch, pos, elapsed = state["step"], state["epoch"], state["pos"], state["elapsed"]
        torch.set_rng_state(state["torch_rng"].cpu())
        log.info("resumed at step %d (epoch %d, %.0f s trained)", step, epoch, elapsed)

    def save():
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "sched": sched.state_dict(),
                    "step": step, "epoch": epoch, "pos": pos, "elapsed": elapsed,
                    "torch_rng": torch.get_rng_state(), "options": asdict(opts)}, tmp)
        tmp.replace(ckpt)

    model.train()
    plan = batches(train_pairs, opts.max_tokens, random.Random(opts.seed + epoch))
    t_last_save = time.monotonic()
    run_loss, run_n, t0 = 0.0, 0, time.monotonic()
    while step < opts.steps:
        if pos >= len(plan):
            epoch, pos = epoch + 1, 0
            plan = batches(train_pairs, opts.max_tokens, random.Random(opts.seed + epoch))
        ids, attn, dec, labels = (t.to(opts.device) for t in collate(train_pairs, plan[pos], pad_id, start_id))
        pos += 1
        logits, gold = token_logits(model, ids, attn, dec, labels)
        loss = torch.nn.functional.cross_entropy(logits, gold, label_smoothing=opts.label_smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip_norm)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        step += 1
        run_loss += float(loss.detach())
        run_n += 1
        if step % 25 == 0 or step == opts.steps:
            dt = time.monotonic() - t0
            elapsed += dt
            rec = {"step": step, "epoch": epoch, "loss": run_loss / run_n, "lr": sched.get_last_lr()[0],
                   "s_per_step": dt / run_n, "eta_min": (opts.steps - step) * dt / run_n / 60}
            if step % 250 == 0 or step == opts.steps:
                rec["val_nll"] = evaluate_loss(model, val_pairs, opts, pad_id, start_id)
            log.info(json.dumps(rec))
            with history_path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            run_loss, run_n, t0 = 0.0, 0, time.monotonic()
        if time.monotonic() - t_last_save > opts.save_every_s:
            save()
            t_last_save = time.monotonic()
    save()
    model.to("cpu")
    return {"steps": step, "epochs": epoch + pos / max(1, len(plan)), "train_seconds": elapsed}
