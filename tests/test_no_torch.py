"""Importing and running the runtime loads neither torch nor transformers (nor optimum)."""

from __future__ import annotations

import json
import subprocess
import sys

BLOCKER = r"""
import sys, importlib.abc
BLOCKED = ("torch", "transformers", "optimum")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked import of {name}")
sys.meta_path.insert(0, Block())
import quals
from quals.cli import main
sys.argv = ["quals"] + sys.argv[1:]
try:
    main()
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    sys.stderr.write("LOADED=" + ",".join(loaded) + "\n")
"""


def test_scoring_and_generation_never_import_torch(bart_bundle, tmp_path):
    bench = tmp_path / "b.jsonl"
    bench.write_text(json.dumps({"source": "Anna built a bridge.", "summary": "Anna.", "label": 1}) + "\n")
    for args in (
        ["evaluate", "--model", str(bart_bundle), "--benchmark", str(bench), "--num-beams", "2",
         "--num-groups", "2", "--max-length", "4", "--json", str(tmp_path / "r.json")],
        ["score", "--model", str(bart_bundle), "--source-text", "Anna built a bridge.", "--summary-text", "Anna."],
        ["generate", "--model", str(bart_bundle), "--text", "Anna built a bridge.", "--json"],
        ["info", str(bart_bundle)],
    ):
        p = subprocess.run([sys.executable, "-c", BLOCKER, *args], capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert "LOADED=\n" in p.stderr
        if args[0] != "evaluate":
            json.loads(p.stdout.splitlines()[0] if args[0] == "score" else p.stdout)
