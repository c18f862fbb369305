"""From a trained checkpoint to the shipped bundle: export (fp32, validated against PyTorch), then the compact
bundle (fp16-weights: every weight fp16, or the encoder's query and key projections int8 where that is needed
to fit the 60 MB budget), and keep both so that the compact one can be measured against fp32 on the benchmarks
before it is shipped.

python -m quals.train.release --checkpoint build/train-default/checkpoint \\
    --fp32 build/default-fp32 --compact build/default-compact
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from quals.export import export_bundle, quantize_bundle
from quals.export.quantize import FP16_METHODS

from .warmstart import SEPARATOR

MAX_BUNDLE_MB = 60  # the most the shipped bundle may weigh in git
# v3's all-fp16 storage (30,522 pieces) was 60.9 MB with its tokenizer, over the budget. Storing the encoder's
# query and key projections as int8 blocks saved 1.5 MB (59.4 MB). Mean |d log p| vs fp32 on the exporter's
# validation pairs: all fp16 0.0006; this 0.0024; other encoder weights of about the same size 0.0029-0.0058;
# all encoder FFNs 0.0090; the embeddings 0.0096 (so they stay fp16). A model that fits in all fp16 (v4's
# trimmed vocabulary) is stored so.
INT8_NODES = r"encoder:/layers\.\d+/self_attn/[qk]_proj/"


def bundle_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6


def compact_bundle(fp32: Path, compact: Path, budget_mb: float = MAX_BUNDLE_MB, method: str = "fp16-weights") -> None:
    """The compact bundle of an fp32 one, by an fp16 method (fp16-weights, or fp16-head-int8 / fp16-decoder-int8
    where the quantization rule chose one: Makefile COMPACT_METHOD): the weights it stores as fp16 all fp16 when
    that fits `budget_mb`, else with INT8_NODES as int8 blocks."""
    quantize_bundle(fp32, compact, method=method, overwrite=True)
    if bundle_mb(compact) > budget_mb:
        quantize_bundle(fp32, compact, method=method, int8_nodes=INT8_NODES, overwrite=True)


def release(checkpoint: Path, fp32: Path, compact: Path, budget_mb: float = MAX_BUNDLE_MB,
            method: str = "fp16-weights") -> None:
    export_bundle(checkpoint, fp32, separator=SEPARATOR, decoder="split", overwrite=True)
    compact_bundle(fp32, compact, budget_mb, method)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.release", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=Path("build/train-default/checkpoint"))
    p.add_argument("--fp32", type=Path, default=Path("build/default-fp32"))
    p.add_argument("--compact", type=Path, default=Path("build/default-compact"))
    p.add_argument("--method", default="fp16-weights", choices=FP16_METHODS,
                   help="how the compact bundle stores and computes its weights (the quantization rule's choice)")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (a.checkpoint / "config.json").is_file():
        p.error(f"{a.checkpoint}: no trained checkpoint (run python -m quals.train first)")
    release(a.checkpoint, a.fp32, a.compact, method=a.method)
    print(a.fp32, a.compact)


if __name__ == "__main__":
    main()
