"""scripts/auc_by_error.py: the per-error-kind ROC-AUC that docs/eval/v4/README.md quotes for Polytope."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import auc_by_error  # noqa: E402

RECORDS = [
    {"id": "p1", "label": 1, "errors": []},
    {"id": "p2", "label": 1, "errors": []},
    {"id": "a", "label": 0, "errors": ["Addition"]},
    {"id": "ab", "label": 0, "errors": ["Addition", "Omission", "Omission"]},
    {"id": "o", "label": 0, "errors": ["Omission"]},
    {"id": "gone", "label": 0, "errors": ["Duplication"]},
]


def _scores(values: dict) -> list[dict]:
    rows = [{"id": k, "status": "ok", "quals": {"paper": v}} for k, v in values.items()]
    return rows + [{"id": "gone", "status": "error", "quals": {}}]


def test_each_kind_is_scored_against_every_consistent_summary_and_unscored_records_are_left_out():
    scores = _scores({"p1": 0.0, "p2": -1.0, "a": -5.0, "ab": -0.5, "o": 3.0})
    table = auc_by_error.auc_by_error(RECORDS, scores, "paper")
    # Addition: a and ab; pairs (p1>a, p2>a, p1>ab, p2<ab) -> 3/4. Omission: ab once (repeats count once) and o.
    assert table["Addition"] == (2, 0.75)
    assert table["Omission"] == (2, 0.25)
    assert "Duplication" not in table  # its only record has no ok score


def test_the_command_prints_a_column_per_scores_file(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text("\ufeff" + "\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    files = []
    for name, values in (("a", {"p1": 1.0, "p2": 1.0, "a": 0.0, "ab": 0.0, "o": 0.0}),
                         ("b", {"p1": 0.0, "p2": 0.0, "a": 1.0, "ab": 1.0, "o": 1.0})):
        f = tmp_path / f"{name}.jsonl"
        f.write_text("\n".join(json.dumps(r) for r in _scores(values)) + "\n", encoding="utf-8")
        files.append(str(f))
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "auc_by_error.py"), str(bench), *files],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[1:] == ["Addition | 2 | 1.000 | 0.000", "Omission | 2 | 1.000 | 0.000"]
