"""Paired comparison of two bundles' `quals evaluate --scores` files on the records both scored: the decision
whether a candidate model replaces the default, and whether a compact bundle may replace its fp32 source.

python -m quals.train.compare CANDIDATE.scores.jsonl BASELINE.scores.jsonl [--rule replace|quantize] [--json OUT]
    [--baseline-report BASELINE.json --baseline-bundle models/default]

Both rules look at the pooled rows (origin "all") of every benchmark and both variants, with the 95% interval of
the paired ROC-AUC difference (the same resampled records for both bundles):
- replace (a new default model): no interval lies below 0, and the mean difference is > 0.
- quantize: every interval contains 0 or lies above it, and the mean difference is >= -0.005.
Exit status 0 when the rule holds, 1 when it does not, 2 on bad input: usable in a Makefile.
With --baseline-report and --baseline-bundle, stored baseline scores are used only if the report's signature names
that bundle's id: scores of an older default never decide against the current one.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from quals.bundle import load_bundle
from quals.tasks.evaluate import read_scores
from quals.tasks.metrics import Estimate, bootstrap, finite_or_none, roc_auc

MAX_MEAN_QUANTIZATION_LOSS = 0.005


@dataclass(frozen=True)
class Verdict:
    rule: str
    holds: bool
    mean_change: float
    below_zero: tuple[tuple[str, str, str], ...]  # (benchmark, origin, variant) whose interval lies below 0
    compared: int  # pooled comparisons the verdict rests on

    def reason(self) -> str:
        parts = [f"mean pooled ROC-AUC change {self.mean_change:+.4f} over {self.compared} comparisons"]
        if self.below_zero:
            parts.append("interval below 0 on " + ", ".join(f"{b}/{v}" for b, _, v in self.below_zero))
        return ("holds: " if self.holds else "fails: ") + "; ".join(parts)


def verdict(diffs: dict[tuple[str, str, str], Estimate], rule: str) -> Verdict:
    """Apply `rule` ("replace" or "quantize") to paired_auc_differences' output."""
    pooled = {k: e for k, e in diffs.items() if k[1] == "all" and np.isfinite(e.value)}
    if not pooled:
        raise ValueError("no pooled comparison with both classes present: nothing to decide on")
    mean = float(np.mean([e.value for e in pooled.values()]))
    below = tuple(sorted(k for k, e in pooled.items() if e.high < 0))
    if rule == "replace":
        holds = not below and mean > 0
    elif rule == "quantize":
        holds = not below and mean >= -MAX_MEAN_QUANTIZATION_LOSS
    else:
        raise ValueError(f"unknown rule {rule!r}: replace or quantize")
    return Verdict(rule, holds, mean, below, len(pooled))


def _paired(a: Path, b: Path):
    """(benchmark, origin, variant), labels, scores [n, 2] (a, b) of the records both --scores files scored."""
    def load(path: Path) -> dict:
        return {(r["benchmark"], r["id"]): r for r in read_scores(path) if r["status"] == "ok"}

    ra, rb = load(a), load(b)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for k in ra.keys() & rb.keys():
        for origin in ("all", ra[k]["origin"]):
            groups.setdefault((k[0], origin), []).append(k)
    for (bench, origin), keys in sorted(groups.items()):
        keys.sort()
        labels = np.array([ra[k]["label"] for k in keys], dtype=np.float64)
        for v in ("paper", "clean"):
            pair = np.array([[ra[k]["quals"][v], rb[k]["quals"][v]] for k in keys], dtype=np.float64)
            yield (bench, origin, v), labels, pair


def paired_auc_differences(a: Path, b: Path, n_resamples: int = 1000) -> dict[tuple[str, str, str], Estimate]:
    """ROC-AUC of a minus that of b on the records both scored, per (benchmark, origin, variant), with a 95%
    interval from resampling records (the same records for both: the spread of the difference, not of each AUC).
    a, b: --scores files of `quals evaluate`."""
    return _differences(_paired(a, b), n_resamples)


def _differences(groups, n_resamples: int) -> dict[tuple[str, str, str], Estimate]:
    return {k: bootstrap(lambda s, y: roc_auc(s[:, 0], y) - roc_auc(s[:, 1], y), pair, labels,
                         n_resamples=n_resamples) for k, labels, pair in groups}


def _aucs(groups) -> dict[tuple[str, str, str], tuple[float, float, int]]:
    """(ROC-AUC of a, of b, records) per (benchmark, origin, variant) of _paired's groups."""
    return {k: (roc_auc(pair[:, 0], labels), roc_auc(pair[:, 1], labels), len(labels)) for k, labels, pair in groups}


def scored_bundle_matches(report: Path, bundle_dir: Path) -> tuple[bool, str]:
    """Whether a `quals evaluate --json` report was computed with this bundle (its id in the signature)."""
    signature = json.loads(report.read_text(encoding="utf-8")).get("signature", "")
    want = f"bundle:{load_bundle(bundle_dir).digest[:12]}"
    return want in signature.split("|"), f"{report} was scored with {signature!r}; {bundle_dir} is {want}"


def table(diffs: dict[tuple[str, str, str], Estimate]) -> list[str]:
    lines = [f"{'benchmark':<12} {'origin':<22} {'variant':<7} {'AUC change':>10}  95% interval"]
    for (bench, origin, variant), e in sorted(diffs.items()):
        if np.isfinite(e.value):
            lines.append(f"{bench:<12} {origin:<22} {variant:<7} {e.value:>+10.4f}  [{e.low:+.4f}, {e.high:+.4f}]")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m quals.train.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("candidate", type=Path)
    p.add_argument("baseline", type=Path)
    p.add_argument("--rule", choices=["replace", "quantize"], default="replace")
    p.add_argument("--resamples", type=int, default=1000)
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--baseline-report", type=Path, default=None, help="the baseline's `quals evaluate --json` report")
    p.add_argument("--baseline-bundle", type=Path, default=None, help="the bundle the baseline must have scored with")
    a = p.parse_args(argv)
    for f in (a.candidate, a.baseline) + ((a.baseline_report,) if a.baseline_report else ()):
        if not f.is_file():
            print(f"error: {f}: no such file", file=sys.stderr)
            return 2
    if (a.baseline_report is None) != (a.baseline_bundle is None):
        print("error: --baseline-report and --baseline-bundle go together", file=sys.stderr)
        return 2
    if a.baseline_report:
        ok, why = scored_bundle_matches(a.baseline_report, a.baseline_bundle)
        if not ok:
            print(f"error: stale baseline: {why} (rerun make evaluate-baseline)", file=sys.stderr)
            return 2
    groups = list(_paired(a.candidate, a.baseline))  # both files read once, for the intervals and the AUCs
    diffs = _differences(groups, a.resamples)
    try:
        v = verdict(diffs, a.rule)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(table(diffs)))
    print(f"{a.rule}: {v.reason()}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        aucs = _aucs(groups)
        signature = (json.loads(a.baseline_report.read_text(encoding="utf-8")).get("signature")
                     if a.baseline_report else None)
        a.json.write_text(json.dumps({
            "candidate": str(a.candidate), "baseline": str(a.baseline), "baseline_signature": signature,
            "rule": a.rule, "holds": v.holds, "reason": v.reason(), "mean_change": v.mean_change,
            "below_zero": [list(k) for k in v.below_zero],
            "rows": [{"benchmark": k[0], "origin": k[1], "variant": k[2], "n": aucs[k][2],
                      "candidate_auc": finite_or_none(aucs[k][0]), "baseline_auc": finite_or_none(aucs[k][1]),
                      **e.to_dict()} for k, e in sorted(diffs.items())]}, indent=1) + "\n", encoding="utf-8")
    return 0 if v.holds else 1


if __name__ == "__main__":
    sys.exit(main())
