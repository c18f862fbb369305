"""Training speed of model shapes on a mixture's examples: estimated hours per epoch, without training.

python -m quals.train.speed --work build/train-default --init build/v3-default [--batches 16]

For each configuration (vocabulary cut, decoder depth, batch token budget) it builds the model the recipe would
build, plans one epoch of grouped batches and times forward + backward + AdamW on a seeded sample of them: the
short-run evidence for the recipe's shape (docs/eval/v4/speed.jsonl). The examples are the work folder's
train.jsonl (written by python -m quals.train when it builds them).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from . import data, loop, pipeline, warmstart

CONFIGS = (  # (vocab_min_count, decoder_layers, max_tokens)
    (None, None, 3072), (50, None, 3072), (100, None, 3072), (100, 6, 3072), (100, None, 6144),
)


def seconds_per_batch(model, groups, plan: list[list[int]], n: int, seed: int = 0) -> float:
    """Mean seconds of one optimizer step over `n` sampled batches of `plan` (the first two untimed)."""
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    times = []
    for k, b in enumerate(random.Random(seed).sample(range(len(plan)), n + 2)):
        batch = loop.collate(groups, plan[b], model.config.pad_token_id, model.config.decoder_start_token_id)
        t = time.perf_counter()
        logits, gold = loop.token_logits(model, *batch)
        torch.nn.functional.cross_entropy(logits, gold, label_smoothing=0.1).backward()
        opt.step()
        opt.zero_grad()
        if k >= 2:
            times.append(time.perf_counter() - t)
    return sum(times) / len(times)


def main() -> None:
    import torch

    p = argparse.ArgumentParser(prog="python -m quals.train.speed", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("build/train-default"))
    p.add_argument("--init", type=Path, default=Path("build/v3-default"))
    p.add_argument("--batches", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-source-tokens", type=int, default=510)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    examples = [data.QAExample(**r) for r in data.read_jsonl(a.work / "train.jsonl")]
    src = warmstart.minilm_dir()
    for min_count, layers, budget in CONFIGS:
        tok = warmstart.build_tokenizer(src)
        model = warmstart.from_bundle(a.init, a.work / "speed", tok)
        if min_count or layers:
            tok, model, _ = pipeline.reshape(tok, model, examples, vocab_min_count=min_count, decoder_layers=layers)
        groups = loop.encode_groups(examples, tok, tok.convert_tokens_to_ids(warmstart.SEPARATOR),
                                    model.config.eos_token_id, a.max_source_tokens)
        plan = loop.batches(groups, budget, random.Random(13), True)
        per = seconds_per_batch(model, groups, plan, a.batches)
        print(json.dumps({"mc": min_count, "layers": layers, "budget": budget, "vocab": model.config.vocab_size,
                          "batches_per_epoch": len(plan), "s_per_batch": round(per, 3),
                          "epoch_hours": round(per * len(plan) / 3600, 2),
                          "src_tokens": sum(len(s) for s, _ in groups),
                          "tgt_tokens": sum(len(t) for _, ts in groups for t in ts)}), flush=True)


if __name__ == "__main__":
    main()
