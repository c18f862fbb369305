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
    # Encode a context once for all of its questions (mixture v4: a paragraph's questions share its long context);
    # the batch budget then counts each source once. False: one source per target (the v1-v3 recipes).
    group_sources: bool = False
    val_every: int = 250
    probe_every: int = 0  # every N steps, the XQuAD-en probe (curve.xquad_probe); 0: never


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


def _contains(seq: list[int], part: list[int]) -> bool:
    n = len(part)
    return any(seq[i:i + n] == part for i in range(len(seq) - n + 1) if seq[i] == part[0])


def encode_groups(examples: list[QAExample], tok, sep_id: int, eos_id: int, max_source: int,
                  stats: dict | None = None) -> list[tuple[list, list]]:
    """(source ids, [target ids, ...]) per distinct context, first-seen order. A pair is dropped when its target
    is over 64 tokens or its answer's pieces are not in the truncated source (cut off at max_source); `stats`
    receives the counts of both."""
    groups: dict[str, list] = {}
    dropped = {"target_too_long": 0, "answer_truncated": 0}
    cache: dict[str, list[int]] = {}

    def ids(text: str) -> list[int]:
        if text not in cache:
            cache[text] = tok(text, add_special_tokens=False)["input_ids"]
        return cache[text]

    for e in examples:
        if e.context not in groups:
            groups[e.context] = [ids(e.context)[:max_source] + [eos_id], []]
        src, targets = groups[e.context]
        a = tok(e.answer, add_special_tokens=False)["input_ids"]
        tgt = tok(e.question, add_special_tokens=False)["input_ids"] + [sep_id] + a + [eos_id]
        if len(tgt) > 64:
            dropped["target_too_long"] += 1
        elif not a or not _contains(src, a):
            dropped["answer_truncated"] += 1
        else:
            targets.append(tgt)
    if stats is not None:
        stats.update(dropped)
    return [(s, t) for s, t in groups.values() if t]


def compact(groups: list[tuple[list, list]]) -> list[tuple]:
    """The same groups with int32 arrays for id lists: a Python int above 256 is a 28-byte object, so 20 million
    ids as lists cost gigabytes; as arrays, 80 MB. Batches and tensors are the same."""
    import numpy as np

    return [(np.asarray(s, dtype=np.int32), [np.asarray(t, dtype=np.int32) for t in ts]) for s, ts in groups]


def as_groups(pairs: list[tuple[list, list]]) -> list[tuple[list, list]]:
    """One group per (source, target) pair: the v1-v3 recipes' data in the form `train` takes."""
    return [(src, [tgt]) for src, tgt in pairs]


def batches(groups: list[tuple[list, list]], max_tokens: int, rng: random.Random,
            grouped: bool = False) -> list[list[int]]:
    """Group indices sorted by source length so that padding stays small; batch order shuffled. The budget counts
    padded source tokens once per group and padded target tokens once per target (`grouped`), or, for one target
    per source, padded source + target tokens per row (as the v1-v3 recipes were trained)."""
    order = sorted(range(len(groups)), key=lambda i: (len(groups[i][0]), rng.random()))
    out, cur = [], []
    width = tgt_width = n_tgt = 0  # the open batch's padded source (+ target) width, target width, targets
    for i in order:
        src, tgts = groups[i]
        while True:  # the open batch with group i; when over budget, close it and start one with i alone
            if grouped:
                w, tw, n = max(width, len(src)), max(tgt_width, *map(len, tgts)), n_tgt + len(tgts)
                cost = w * (len(cur) + 1) + tw * n
            else:
                w, tw, n = max(width, len(src) + len(tgts[0])), 0, n_tgt + 1
                cost = w * (len(cur) + 1)
            if not cur or cost <= max_tokens:
                break
            out.append(cur)
            cur, width, tgt_width, n_tgt = [], 0, 0, 0
        cur.append(i)
        width, tgt_width, n_tgt = w, tw, n
    if cur:
        out.append(cur)
    rng.shuffle(out)
    return out


def collate(groups, idx, pad_id: int, start_id: int):
    """Tensors of the groups `idx`: input_ids, attention_mask [sources, S]; decoder_input_ids, labels
    [targets, T] (labels -100 on padding); source_row [targets]: the source each target reads."""
    import torch

    src = [groups[i][0] for i in idx]
    rows = [(r, t) for r, i in enumerate(idx) for t in groups[i][1]]
    S, T = max(map(len, src)), max(len(t) for _, t in rows)
    input_ids = torch.full((len(src), S), pad_id)
    attn = torch.zeros((len(src), S), dtype=torch.long)
    dec_in = torch.full((len(rows), T), pad_id)
    labels = torch.full((len(rows), T), -100)
    for r, s in enumerate(src):
        input_ids[r, : len(s)] = torch.as_tensor(s)
        attn[r, : len(s)] = 1
    for r, (_, t) in enumerate(rows):
        t = torch.as_tensor(t)
        dec_in[r, 0] = start_id
        dec_in[r, 1 : len(t)] = t[:-1]
        labels[r, : len(t)] = t
    return input_ids, attn, dec_in, labels, torch.tensor([r for r, _ in rows])


def token_logits(model, ids, attn, dec, labels, source_row):
    """Logits at the labelled positions only: the output layer over padding is most of a step's cost. Each
    source is encoded once, whatever the number of targets that read it."""
    import torch

    enc = model.model.encoder(input_ids=ids, attention_mask=attn).last_hidden_state
    if source_row.numel() != ids.shape[0] or not bool((source_row == torch.arange(ids.shape[0])).all()):
        enc, attn = enc[source_row], attn[source_row]
    hidden = model.model.decoder(input_ids=dec, encoder_hidden_states=enc,
                                 encoder_attention_mask=attn).last_hidden_state
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
        for idx in batches(pairs, opts.max_tokens, random.Random(0), opts.group_sources):
            batch = (t.to(next(model.parameters()).device) for t in collate(pairs, idx, pad_id, start_id))
            logits, gold = token_logits(model, *batch)
            total += float(torch.nn.functional.cross_entropy(logits, gold, reduction="sum"))
            n += int(gold.numel())
    model.train()
    return total / max(n, 1)


def _truncate_history(path: Path, step: int) -> None:
    """Drop the curve's lines after `step` (a run killed after its last checkpoint redoes those steps)."""
    if path.is_file():
        lines = [x for x in path.read_text().split("\n") if x.strip()]
        keep = [x for x in lines if json.loads(x)["step"] <= step]
        if len(keep) != len(lines):
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(x + "\n" for x in keep))
            tmp.replace(path)


def _stop_on_sigterm() -> list:
    """A list that becomes non-empty when SIGTERM arrives (in the main thread), so that the loop saves, then stops."""
    import signal
    import threading

    flag: list = []
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: flag.append(True))
    return flag


def train(model, train_pairs, val_pairs, work: Path, opts: TrainOptions, probe=None,
          stop_after: int | None = None) -> dict:
    """Train `model` on groups (encode_groups, or as_groups of pairs) for opts.steps optimizer steps, resuming
    from work/state.pt. Every 25 steps a line goes to work/history.jsonl (the learning curve): step, epoch, train
    loss, learning rate, seconds per step; every opts.val_every steps the validation NLL; every opts.probe_every
    steps the fields `probe(model)` returns (curve.xquad_probe). stop_after: end at that step instead, with the
    schedule of opts.steps (a fork of a run: scripts/fork_run.py)."""
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
    _truncate_history(history_path, step)

    def save():
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "sched": sched.state_dict(),
                    "step": step, "epoch": epoch, "pos": pos, "elapsed": elapsed,
                    "torch_rng": torch.get_rng_state(), "options": asdict(opts)}, tmp)
        tmp.replace(ckpt)

    stop = _stop_on_sigterm()
    if step == 0 and probe is not None and opts.probe_every:  # where the curve starts: the model it continues
        model.eval()
        with torch.no_grad():
            rec = {"step": 0, "epoch": 0, **probe(model)}
        log.info(json.dumps(rec))
        with history_path.open("a") as f:
            f.write(json.dumps(rec) + "\n")
    model.train()
    plan = batches(train_pairs, opts.max_tokens, random.Random(opts.seed + epoch), opts.group_sources)
    t_last_save = time.monotonic()
    run_loss, run_nll, run_n, t0 = 0.0, 0.0, 0, time.monotonic()
    end = opts.steps if stop_after is None else min(opts.steps, stop_after)
    while step < end:
        if pos >= len(plan):
            epoch, pos = epoch + 1, 0
            plan = batches(train_pairs, opts.max_tokens, random.Random(opts.seed + epoch), opts.group_sources)
        batch = [t.to(opts.device) for t in collate(train_pairs, plan[pos], pad_id, start_id)]
        pos += 1
        logits, gold = token_logits(model, *batch)
        loss = torch.nn.functional.cross_entropy(logits, gold, label_smoothing=opts.label_smoothing)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), opts.clip_norm)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        step += 1
        run_loss += float(loss.detach())
        run_nll += float(torch.nn.functional.cross_entropy(logits.detach(), gold)) if opts.label_smoothing else 0.0
        run_n += 1
        if step % 25 == 0 or step == end:
            dt = time.monotonic() - t0
            elapsed += dt
            rec = {"step": step, "epoch": epoch, "loss": run_loss / run_n, "lr": sched.get_last_lr()[0],
                   "s_per_step": dt / run_n, "eta_min": (opts.steps - step) * dt / run_n / 60}
            if opts.label_smoothing:
                rec["train_nll"] = run_nll / run_n
            if step % opts.val_every == 0 or step == end:
                rec["val_nll"] = evaluate_loss(model, val_pairs, opts, pad_id, start_id)
            if probe is not None and opts.probe_every and (step % opts.probe_every == 0 or step == end):
                model.eval()
                with torch.no_grad():
                    rec.update(probe(model))
                model.train()
            log.info(json.dumps(rec))
            with history_path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            run_loss, run_nll, run_n, t0 = 0.0, 0.0, 0, time.monotonic()
        if time.monotonic() - t_last_save > opts.save_every_s or stop:
            save()
            t_last_save = time.monotonic()
        if stop:
            raise SystemExit(f"stopped by SIGTERM at step {step}; the checkpoint is saved, a rerun resumes from it")
    save()
    model.to("cpu")
    return {"steps": step, "epochs": epoch + pos / max(1, len(plan)), "train_seconds": elapsed}
