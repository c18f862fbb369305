"""`make bench`'s printed tables (scripts/bench.py): medians per summary and ratios against quals."""

from __future__ import annotations

import statistics


def _median(xs) -> float:
    return statistics.median(xs) if xs else float("nan")


def print_rounds(rows: dict, base_of) -> None:
    """Each runner's ratio to its base, round by round (the rounds ran interleaved: A B A B)."""
    if len(next(iter(rows.values())).get("round_medians", ())) < 2:
        return
    for r, row in rows.items():
        base = rows[base_of(r)]["round_medians"]
        ratios = ", ".join(f"{a / b:.2f}" for a, b in zip(row["round_medians"], base))
        print(f"  {r:<25} x {base_of(r)} per round: {ratios}")


def print_table(name: str, desc: str, rows: dict, beams: int) -> None:
    ref = rows[next(iter(rows))]
    base = _median(ref["times"])
    print(f"\n== {name}: {desc}")
    print(f"{'runner':<25} {'median s/summary':>17} {'x quals':>8} {'x torch':>8} {'beam-steps/s':>13} "
          f"{'peak RSS MB':>12}  same pairs as quals")
    torch_med = _median(rows["torch"]["times"]) if "torch" in rows else float("nan")
    for r, row in rows.items():
        med = _median(row["times"])
        rate = sum(s * beams for s in row["steps"]) / sum(row["times"])
        same = sum(a == b for a, b in zip(row["digests"], ref["digests"]))
        print(f"{r:<25} {med:>17.3f} {med / base:>8.2f} {med / torch_med:>8.2f} {rate:>13.0f} "
              f"{row['peak_rss_mb']:>12.0f}  {same}/{len(row['digests'])}")
    print_rounds(rows, lambda r: next(iter(rows)))


def print_fixed(rows: dict, beams: int, steps: int) -> None:
    print(f"\n== plain beam search, {beams} beams, exactly {steps} steps, then the top 10 teacher-forced on the "
          "source (shipped model's weights)")
    print(f"{'runner':<17} {'generation s':>13} {'scoring s':>10} {'total s':>8} {'x ct2 total':>12} "
          f"{'peak RSS MB':>12} {'steps':>6} {'top-10 shared':>13}  max |d sum log p| on quals fp32's hypotheses")
    ref = rows["quals fp32"]
    for r, row in rows.items():
        ct2 = rows["ctranslate2 int8" if "int8" in r else "ctranslate2 fp32"]
        gen, sc, tot = _median(row["gen"]), _median(row["score"]), _median(row["times"])
        shared = [len({tuple(h) for h in a} & {tuple(h) for h in b}) / max(1, len(b))
                  for a, b in zip(row["hypotheses"], ref["hypotheses"])]
        steps_txt = "/".join(str(s) for s in sorted(set(row["steps"])))
        diff = max(abs(a - b) for ra, rb in zip(row.get("reference_logp_sums", []), ref["logp_sums"])
                   for a, b in zip(ra, rb)) if row.get("reference_logp_sums") else float("nan")
        print(f"{r:<17} {gen:>13.3f} {sc:>10.3f} {tot:>8.3f} {tot / _median(ct2['times']):>12.2f} "
              f"{row['peak_rss_mb']:>12.0f} {steps_txt:>6} {statistics.mean(shared):>13.0%}  {diff:.2g}")
    print_rounds(rows, lambda r: "ctranslate2 int8" if "int8" in r else "ctranslate2 fp32")
    print("(CTranslate2 masks EOS before its log-softmax while it is not allowed, transformers and quals after it: "
          "with EOS barred, its scores are renormalised and its beams differ; the log-probs above show the model "
          "is the same)")
