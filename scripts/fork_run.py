"""A fork of a background training run: its last checkpoint (model, optimizer, schedule, batch position)
continued on a subset of its examples, to measure a change of the data before committing the run to it.

python scripts/fork_run.py --work build/train-default --out build/fork/nocloze --drop-origin cloze-ner --steps 300

The fork trains `--steps` more optimizer steps with the run's own options (its learning-rate schedule goes on
where the run is) and the run's tokenizer and shape (work/model), on the run's examples (work/train.jsonl) less
those of `--drop-origin`; the batch plan is rebuilt from the remaining examples (seeded, as the run's), so the
fork reads other batches from the same position on. It writes a HF checkpoint to OUT/checkpoint (for
`python -m quals.train.release`) and its learning curve to OUT/history.jsonl. The run itself is not touched.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("build/train-default"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--drop-origin", action="append", default=[], help="an example origin to leave out (repeatable)")
    p.add_argument("--steps", type=int, default=300)
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch
    from quals.train import data, loop, pipeline, snapshot

    state = torch.load(a.work / "state.pt", weights_only=False, map_location="cpu")
    a.out.mkdir(parents=True, exist_ok=True)
    shutil.copy(a.work / "state.pt", a.out / "state.pt")
    model, tok = snapshot.run_model(a.work)  # loop.train loads the weights from the copied state
    examples = [data.QAExample(**r) for r in data.read_jsonl(a.work / "train.jsonl")
                if r["origin"] not in a.drop_origin]
    val = [data.QAExample(**r) for r in data.read_jsonl(a.work / "val.jsonl")]
    # the run's options (its schedule's total steps: the fork's lr is the run's), validation at the fork's end
    opts = loop.TrainOptions(**{**state["options"], "val_every": 10**9, "probe_every": 0})
    train_pairs, val_pairs = pipeline.encode_sets(examples, val, tok, model.config.eos_token_id, opts)
    start = int(state["step"])
    loop.train(model, train_pairs, val_pairs, a.out, opts, stop_after=start + a.steps)
    pipeline.save_checkpoint(model, tok, a.out / "checkpoint")
    (a.out / "fork.json").write_text(json.dumps({"from": str(a.work), "from_step": start, "steps": a.steps,
                                                 "dropped_origins": a.drop_origin,
                                                 "examples": len(examples)}) + "\n")
    print(a.out / "checkpoint")


if __name__ == "__main__":
    main()
