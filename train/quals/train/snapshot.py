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


def snapshot(work: Path, out: Path) -> int:
    """Write `work`'s last saved training state as a HF checkpoint into `out`; returns its optimizer step."""
    import torch

    ckpt = work / "state.pt"
    if not ckpt.is_file():
        raise FileNotFoundError(f"{ckpt}: no training state (has the run saved its first checkpoint?)")
    state = torch.load(ckpt, weights_only=False, map_location="cpu")
    shape = work / "model"  # the run's model config and tokenizer (pipeline.run writes them): v4's are reshaped
    if (shape / "config.json").is_file():
        from transformers import AutoConfig, AutoTokenizer, BartForConditionalGeneration

        model = BartForConditionalGeneration(AutoConfig.from_pretrained(shape))
        tok = AutoTokenizer.from_pretrained(shape)
    else:
        src = warmstart.minilm_dir()
        model, tok = warmstart.build_model(src), warmstart.build_tokenizer(src)
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
