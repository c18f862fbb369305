"""The shipped default model (models/default): used when --model is omitted, finds real QA pairs, and
`quals evaluate` runs on the four development sets (a small sample here; the full runs are in the card)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner
from quals.cli import main
from quals.models import default_model

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "models" / "default"
EVAL = ROOT.parent / "shared" / "data" / "eval"
SETS = ("summeval", "polytope", "goyal21", "gofigure")

pytestmark = pytest.mark.skipif(not (DEFAULT / "quals.json").is_file(), reason="no models/default in this checkout")


def test_score_without_model_uses_the_default_bundle(monkeypatch):
    monkeypatch.delenv("QUALS_MODEL", raising=False)
    assert default_model() == DEFAULT
    r = CliRunner().invoke(main, ["score", "--input", str(ROOT / "examples" / "pairs.jsonl"), "--details"])
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(recs) == 3 and all(x["status"] == "ok" for x in recs)
    for x in recs:
        assert x["n_pairs"] >= 1 and math.isfinite(x["quals"])
    by_id = {x["id"]: x["quals"] for x in recs}
    # ex2 contradicts its source (rejected, 40 million, stadium); ex1 restates it.
    assert by_id["ex1"] > by_id["ex2"]


@pytest.mark.skipif(not EVAL.is_dir(), reason="../shared/data/eval is not beside this checkout")
def test_evaluate_runs_on_the_four_development_sets(tmp_path):
    out = tmp_path / "report.json"
    args = ["evaluate", "--limit", "3", "--bootstrap", "20", "--json", str(out), "--no-progress"]
    for s in SETS:
        args += ["--benchmark", str(EVAL / f"{s}.jsonl")]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    rows = json.loads(out.read_text())["rows"]
    assert {x["benchmark"] for x in rows} == set(SETS)
    assert all(x["n"] == 3 for x in rows if x["origin"] == "all")


def test_the_signature_the_readme_and_card_quote_is_the_one_users_get():
    import re

    from quals import Scorer

    bundle_id = Scorer.load(DEFAULT).signature().split("|")[1]

    def quoted(doc: Path) -> set[str]:
        return set(re.findall(r"quals\|(bundle:[0-9a-f]{12})\|", doc.read_text(encoding="utf-8")))

    assert quoted(ROOT / "README.md") == {bundle_id}
    assert bundle_id in quoted(DEFAULT / "MODEL_CARD.md")  # beside the fp32 bundle's, which it is compared with


def test_the_readme_output_table_lists_every_result_field():
    from quals.scorer import Result

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| field | meaning |"):]
    table = table[: table.index("\n\n")]
    fields = set(Result(None, "error", error="x").to_dict(details=True))
    missing = [f for f in fields if f"`{f}`" not in table]
    assert not missing, missing


def test_the_readme_explain_example_quotes_the_default_models_scores():
    """The README's `quals explain` paragraph quotes the scores of examples/explain.jsonl (make explain-example)."""
    import re

    from quals import Scorer

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    para = readme[readme.index("The default model on `examples/explain.jsonl`"):]
    para = para[: para.index("\n\n")]
    quoted = [float(x) for x in re.findall(r"QUALS\s+(-?\d+\.\d{3})", para)]
    recs = [json.loads(x) for x in (ROOT / "examples" / "explain.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in recs] == ["faithful", "wrong-name"]
    got = Scorer.load(DEFAULT).score([r["source"] for r in recs], [r["summary"] for r in recs])
    assert quoted == [round(r.quals, 3) for r in got]
