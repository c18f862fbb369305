"""A HF checkpoint from a training run's latest state (state.pt), while the run goes on or after it stopped.

python -m quals.train.snapshot --work build/train-default --out build/snapshot

Why: a run of the v2 recipe takes hours on a CPU and checkpoints every ten minutes; a snapshot lets one export
and measure it midway (`python -m quals.train.release --checkpoint build/snapshot`) without stopping it. The
weights are those of the last saved step, which the checkpoint's `training_step` file names.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import pipeline, warmstart


def run_model(work: Path):
    """(model, tokenizer) of a run's shape, untrained: its config and tokenizer (work/model, which pipeline.run
    writes: v4's are reshaped), or MiniLM's warm start for a run older than that folder."""
    shape = work / "model"
    if (shape / "config.json").is_file():
        from transformers import AutoConfig, AutoTokenizer, BartForConditionalGeneration

        return BartForConditionalGeneration(AutoConfig.from_pretrained(shape)), AutoTokenizer.from_pretrained(shape)
    src = warmstart.minilm_dir()
    return warmstart.build_model(src), warmstart.build_tokenizer(src)


def snapshot(work: Path, out: Path) -> int:
    """Write `work`'s last saved training state as a HF checkpoint into `out`; returns its optimizer step."""
    import torch

    ckpt = work / "state.pt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt}: no training state (has the run saved its first checkpoint?)")
    state = torch.load(ckpt, weights_only=False, map_location="cpu")
    model, tok = run_model(work)
    model.load_state_dict(state["model"])
    pipeline.save_checkpoint(model, tok, out)
    (out / "training_step.json").write_text(json.dumps({"step": state["step"], "options": state["options"]}) + "\n")
    return int(state["step"])


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.snapshot", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=Path("build/train-default"))
    p.add_argument("--out", type=Path, default=Path("build/snapshot"))
    a = p.parse_args()
    try:
        step = snapshot(a.work, a.out)
    except FileNotFoundError as e:
        p.error(str(e))
    print(f"{a.out} (step {step})")


if __name__ == "__main__":
    main()
