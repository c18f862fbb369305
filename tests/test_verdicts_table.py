"""scripts/verdicts_table.py: the table of docs/verdicts.md comes from the evaluate report's values."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import verdicts_table  # noqa: E402


def _row(bench, origin, variant, n, **metrics):
    return {"benchmark": bench, "origin": origin, "variant": variant, "n": n, "label_kind": "binary",
            "metrics": {k: {"value": v, "ci95": [v, v]} for k, v in metrics.items()}}


def _verdict_row(bench, origin, n, auc, bacc, unc, p_inc, r_inc, p_con, r_con):
    return _row(bench, origin, "p_consistent", n, roc_auc=auc, verdict_bacc=bacc, uncertain=unc,
                precision_inconsistent=p_inc, recall_inconsistent=r_inc, precision_consistent=p_con,
                recall_consistent=r_con)


def _report(shift=0.0):
    return {"rows": [
        _row("synthetic", "all", "paper", 10, roc_auc=0.7 + shift),
        _verdict_row("synthetic", "all", 10, 0.9, 0.8, 0.1, 0.9, 0.7, 0.8, 0.75),
        _row("synthetic", "factcc", "paper", 4, roc_auc=0.6),
        _verdict_row("synthetic", "factcc", 4, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5, 0.5),
        _row("goyal21", "all", "paper", 6, roc_auc=0.4),
        _verdict_row("goyal21", "all", 6, 0.4, 0.4, 0.0, 0.5, 0.5, 0.5, 0.5),
        _row("goyal21", "xsum", "paper", 3, roc_auc=0.55),
        _verdict_row("goyal21", "xsum", 3, 0.61, 0.5, 0.0, 0.64, 1.0, None, 0.0),
        _row("goyal21", "cnndm", "paper", 3, roc_auc=0.9),
        _verdict_row("goyal21", "cnndm", 3, 0.67, 0.38, 0.17, 0.97, 0.76, 0.0, 0.0),
    ]}


def test_rows_cells_and_the_sets_left_out():
    lines = verdicts_table.table(_report())
    assert lines[0].startswith("| set (records) | paper ROC-AUC | p_consistent ROC-AUC |")
    assert lines[2:] == [
        "| synthetic check (10) | 0.70 | 0.90 | 0.80 | 10% | 0.90 / 0.70 | 0.80 / 0.75 |",
        "| Goyal21 XSum (3) | 0.55 | 0.61 | 0.50 | 0% | 0.64 / 1.00 | - / 0.00 |",  # no consistent verdict: "-"
        "| Goyal21 CNN/DM (3) | 0.90 | 0.67 | 0.38 | 17% | 0.97 / 0.76 | 0.00 / 0.00 |",
    ]
    every = verdicts_table.table(_report(), pooled_only=(), origins_only=())
    assert [x.split(" |")[0] for x in every[2:]] == ["| synthetic check (10)", "| synthetic check factcc (4)",
                                                     "| Goyal21 (6)", "| Goyal21 XSum (3)", "| Goyal21 CNN/DM (3)"]


def test_previous_values_stand_beside_and_a_report_without_verdicts_is_refused(tmp_path):
    lines = verdicts_table.table(_report(shift=0.1), previous=_report())
    assert lines[2].startswith("| synthetic check (10) | 0.80 (was 0.70) | 0.90 (was 0.90) |")
    assert "0.90 / 0.70 (was 0.90 / 0.70)" in lines[2]
    plain = {"rows": [r for r in _report()["rows"] if r["variant"] != "p_consistent"]}
    with pytest.raises(ValueError, match="no p_consistent"):
        verdicts_table.table(plain)
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(plain), encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "verdicts_table.py"), str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "no p_consistent" in run.stderr and not run.stdout
