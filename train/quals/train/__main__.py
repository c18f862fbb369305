"""python -m quals.train --data ../shared/data --work build/train-default [--steps N] [--mixture v1|v2|v3|v4]"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .loop import TrainOptions
from .pipeline import run


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train", description=__doc__)
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--work", type=Path, default=Path("build/train-default"))
    d = TrainOptions()
    for name in ("steps", "max_tokens", "max_source_tokens", "warmup", "seed", "threads", "val_every", "probe_every"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--save-every-s", type=float, default=d.save_every_s)
    p.add_argument("--vocab-min-count", type=int, default=None,
                   help="cut the vocabulary to the pieces the training text uses this often (quals.train.vocab)")
    p.add_argument("--decoder-layers", type=int, default=None, help="deepen (or keep) the decoder to this depth")
    p.add_argument("--device", default=d.device, help="cpu (default) or cuda (a GPU machine)")
    p.add_argument("--mixture", choices=["v1", "v2", "v3", "v4"], default="v1",
                   help="v1: the shipped model's data (FairytaleQA + heuristic cloze); v2: SQuAD 1.1 + SQuADShifts "
                        "+ FairytaleQA + spaCy named-entity cloze (needs the train extra's spaCy model); v3: v1's "
                        "data + half of v2's, continuing the model of --init; v4: every human QA pair + spaCy "
                        "cloze, short and long contexts up to 510 tokens, continuing the model of --init "
                        "(quals.train.mixture_v4)")
    p.add_argument("--init", type=Path, help="v3, v4: the bundle to continue training")
    p.add_argument("--full-data", action="store_true", help="v2: every pair, not the CPU budget's sample (a GPU)")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (a.data / "corpus" / "articles.jsonl").is_file():
        p.error(f"{a.data}: no corpus/articles.jsonl (the shared data folder is needed for training)")
    opts = TrainOptions(steps=a.steps, max_tokens=a.max_tokens, max_source_tokens=a.max_source_tokens,
                        warmup=a.warmup, seed=a.seed, threads=a.threads, lr=a.lr, device=a.device,
                        label_smoothing=a.label_smoothing, save_every_s=a.save_every_s, val_every=a.val_every,
                        probe_every=a.probe_every, group_sources=a.mixture == "v4")
    try:
        out = run(a.data, a.work, opts, mixture=a.mixture, full_data=a.full_data, init=a.init,
                  vocab_min_count=a.vocab_min_count, decoder_layers=a.decoder_layers)
    except ValueError as exc:  # run checks its arguments before any work: --mixture v3 and --init go together
        p.error(str(exc))
    print(out)


if __name__ == "__main__":
    main()
