"""From a trained checkpoint to the shipped bundle: export (fp32, validated against PyTorch), quantise to
int8, and keep both so that the quantisation can be measured on the benchmarks before one is chosen.

python -m quals.train.release --checkpoint build/train-default/checkpoint \\
    --fp32 build/default-fp32 --int8 build/default-int8
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from quals.export import export_bundle, quantize_bundle

from .warmstart import SEPARATOR


def release(checkpoint: Path, fp32: Path, int8: Path) -> None:
    export_bundle(checkpoint, fp32, separator=SEPARATOR, decoder="split", overwrite=True)
    quantize_bundle(fp32, int8, overwrite=True)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m quals.train.release", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, default=Path("build/train-default/checkpoint"))
    p.add_argument("--fp32", type=Path, default=Path("build/default-fp32"))
    p.add_argument("--int8", type=Path, default=Path("build/default-int8"))
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not (a.checkpoint / "config.json").is_file():
        p.error(f"{a.checkpoint}: no trained checkpoint (run python -m quals.train first)")
    release(a.checkpoint, a.fp32, a.int8)
    print(a.fp32, a.int8)


if __name__ == "__main__":
    main()
