"""Build the demo bundle in models/: the tiny random BART of the tests, exported by `quals export`.

Its weights are random: it shows the pipeline end to end, its scores mean nothing.
"""

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import tiny_models  # noqa: E402
from quals.export import export_bundle  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else "models/tiny-random-bart")
with tempfile.TemporaryDirectory() as tmp:
    ckpt = tiny_models.build_bart(Path(tmp) / "ckpt")
    m = export_bundle(ckpt, out, overwrite=True)
print(f"wrote {out} (max |log p(ORT) - log p(PyTorch)| = {m.validation['max_abs_logprob_diff']:.2g})")
