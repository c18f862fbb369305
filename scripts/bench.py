"""`make bench`: quals against the PyTorch reference, Optimum and CTranslate2, in one run, on the same work.

Two tables, each runner in its own process (so its peak RSS is its own), medians per summary:

1. The shipped default model (`models/default`), at QUALS' work per record: the diverse beam search on the
   summary (transformers' group beam search semantics, which quals `--search hf` reproduces token for
   token), the QA pairs parsed and selected by quals' own code, both teacher-forced passes. PyTorch and
   Optimum run a Hugging Face checkpoint rebuilt from the bundle's own weights (`quals rebuild-hf`), so every
   runner computes with the same weights and the "same pairs" column is a real proof. CTranslate2 has no
   diverse search: its row is plain beam search of the same width, then the same parsing and scoring.
   quals also runs the authors' fairseq search (its default), which only it implements.
2. Plain beam search against CTranslate2 on equal, fixed work: the same token ids, the shipped model's
   weights, exactly `--fixed-steps` decoding steps for every hypothesis (EOS only after them), then the top 10
   hypotheses teacher-forced on the source; fp32 vs fp32 and int8 vs int8 (quals: weight-int8, and
   fp16-head-int8, whose output layer alone computes in int8). Steps and hypotheses prove it.

BART-base size has no trained model: it runs with random weights and fixed lengths (known work).

The runners of a table run alternately, A B C A B C ..., for `--rounds` rounds, so that a change of the
machine's load moves them alike; a runner's figure is the median over rounds of its per-record times, and
each table also gives the ratios round by round. The CPU, its ISA flags and the load (before and after) are
recorded; the printed tables also go to report.txt beside the JSON report.

    python scripts/bench.py [--threads 2] [--records 8] [--rounds 3] [--models default,base] [--json OUT]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from bench_machine import describe, machine
from bench_profile import print_profile, profile
from bench_runners import make_runner
from bench_tables import print_fixed, print_table

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
DATA = Path(os.environ.get("QUALS_DATA", ROOT.parent / "shared" / "data"))
SHIPPED_BUNDLE = ROOT / "models" / "default"  # the shipped default model: an extra quals row for "default"

# BART-base's shape (random weights); the vocabulary is the default bundle's, grown to BART's 50,265 rows
# so the LM head costs what it costs in BART-base (ids beyond the tokenizer's are never fed).
BASE_SIZE = dict(d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                 decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072,
                 max_position_embeddings=1024, vocab_size=50265)

# -- models -------------------------------------------------------------------------------------------
def random_checkpoint(out: Path, size: dict, seed: int = 0) -> Path:
    """A BART checkpoint with random weights and the default bundle's tokenizer (its work is fixed by the
    search lengths, so the weights do not matter)."""
    import torch
    from quals.train.warmstart import build_tokenizer
    from transformers import BartConfig, BartForConditionalGeneration

    if (out / "config.json").is_file():
        return out
    tok = build_tokenizer(ROOT / "models" / "default")
    cfg = BartConfig(**size, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                     pad_token_id=tok.pad_token_id, decoder_start_token_id=tok.eos_token_id,
                     forced_eos_token_id=None, scale_embedding=False)
    torch.manual_seed(seed)
    model = BartForConditionalGeneration(cfg).eval()
    model.generation_config.forced_eos_token_id = None
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def export_once(ckpt: Path, out: Path, **kwargs) -> Path:
    from quals.export import export_bundle

    if not (out / "quals.json").is_file():
        print(f"exporting {ckpt} -> {out} (once)", flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's warnings say nothing about the benchmark
            export_bundle(ckpt, out, max_source_tokens=ckpt_max_source(ckpt), overwrite=True, **kwargs)
    return out


def shipped_model() -> dict[str, Path]:
    """The shipped bundle, the checkpoint rebuilt from its weights and that checkpoint's fp32 exports (merged;
    split, for the weight-int8 bundle), built once per bundle id under build/bench."""
    from quals.bundle import load_bundle
    from quals.export import quantize_bundle
    from quals.export.hf_rebuild import rebuild_checkpoint

    d = BUILD / f"shipped-{load_bundle(SHIPPED_BUNDLE).digest[:12]}"
    ckpt = d / "checkpoint"
    if not (ckpt / "config.json").is_file():
        print(f"rebuilding the Hugging Face checkpoint of {SHIPPED_BUNDLE} -> {ckpt} (once)", flush=True)
        rebuild_checkpoint(SHIPPED_BUNDLE, ckpt, overwrite=True)
    paths = {"shipped": SHIPPED_BUNDLE, "checkpoint": ckpt, "fp32": export_once(ckpt, d / "bundle-fp32"),
             "fp32-split": export_once(ckpt, d / "bundle-fp32-split", decoder="split")}
    paths["int8"] = d / "bundle-weight-int8"
    if not (paths["int8"] / "quals.json").is_file():
        quantize_bundle(paths["fp32-split"], paths["int8"], method="weight-int8", overwrite=True)
    paths["head-int8"] = d / "bundle-fp16-head-int8"
    if not (paths["head-int8"] / "quals.json").is_file():
        quantize_bundle(paths["fp32-split"], paths["head-int8"], method="fp16-head-int8", overwrite=True)
    return paths


def ct2_model(ckpt: Path, quantization: str) -> Path:
    """The checkpoint converted by CTranslate2's own converter (its BART loader reads `normalize_before`,
    which BART configs do not carry: false, post-norm, is BART's)."""
    import ctranslate2

    out = ckpt.parent / f"ct2-{quantization}"
    if (out / "model.bin").is_file():
        return out
    patched = ckpt.parent / "checkpoint-ct2"
    patched.mkdir(exist_ok=True)
    for f in ckpt.iterdir():
        link = patched / f.name
        if f.name != "config.json" and not link.exists():
            link.symlink_to(f.resolve())
    cfg = json.loads((ckpt / "config.json").read_text())
    (patched / "config.json").write_text(json.dumps({**cfg, "normalize_before": False}))
    ctranslate2.converters.TransformersConverter(str(patched)).convert(
        str(out), quantization=None if quantization == "float32" else quantization, force=True)
    return out


def ckpt_max_source(ckpt: Path) -> int:
    cfg = json.loads((ckpt / "config.json").read_text())
    return cfg["max_position_embeddings"] - 2


def optimum_dir(ckpt: Path, bundle: Path) -> Path:
    """The bundle's ONNX files with the checkpoint's config, laid out as Optimum loads them."""
    d = BUILD / "optimum" / hashlib.sha1(str(bundle.resolve()).encode()).hexdigest()[:10]
    d.mkdir(parents=True, exist_ok=True)
    for f in list(bundle.glob("*.onnx")) + list(bundle.glob("*.bin")) + [ckpt / "config.json",
                                                                         ckpt / "generation_config.json"]:
        link = d / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    return d


# -- inputs -------------------------------------------------------------------------------------------
def sample_records(n: int, seed: int = 0) -> list[dict]:
    """A fixed sample of real (source, summary) pairs, spread over the four development sets."""
    records = []
    for name in ("summeval", "polytope", "goyal21", "gofigure"):
        path = DATA / "eval" / f"{name}.jsonl"
        if not path.is_file():
            raise SystemExit(f"error: {path} not found; point QUALS_DATA at the shared data directory")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        records.extend({"source": r["source"], "summary": r["summary"], "set": name} for r in rows)
    random.Random(seed).shuffle(records)
    by_set: dict[str, list] = {}
    for r in records:
        by_set.setdefault(r["set"], []).append(r)
    out, i = [], 0
    while len(out) < n:  # round-robin over the sets
        s = list(by_set)[i % len(by_set)]
        out.append(by_set[s].pop())
        i += 1
    return out


# -- one runner, in its own process ---------------------------------------------------------------------
def worker(args: argparse.Namespace) -> None:
    """Time one runner on every record (after one untimed warm-up) and print its measurements as JSON."""
    import numpy as np
    from quals.bundle import load_bundle
    from quals.qa import answer_in_summary, parse, select_pairs
    from quals.text import TextCodec
    from tokenizers import Tokenizer

    records = [json.loads(line) for line in Path(args.inputs).read_text(encoding="utf-8").splitlines()]
    m = load_bundle(args.bundle).manifest
    codec = TextCodec(Path(args.bundle) / m.files["tokenizer"], m.tokens, m.encoding)
    vocab_tok = Tokenizer.from_file(str(Path(args.bundle) / m.files["tokenizer"]))
    vocab = [vocab_tok.id_to_token(i) for i in range(m.onnx.vocab_size)]
    search = json.loads(args.search)
    runner = make_runner(args, search, m.tokens, vocab)

    def run(src_ids, summ_ids, rec):
        """(quals or None, generation s, scoring s, steps, digest of what was scored, its log-probs)"""
        t0 = time.perf_counter()
        hyps = runner.generate(summ_ids)
        t1 = time.perf_counter()
        if args.work == "fixed":  # the top hypotheses, whatever they say, on the source
            targets = [list(h.tokens) + ([] if h.finished else [m.tokens.eos]) for h in hyps[: args.score_top]]
            lps = runner.logp(src_ids, targets)
            t2 = time.perf_counter()
            hyp_tokens.append(targets)
            return None, t1 - t0, t2 - t1, runner.steps, _digest(targets), [float(x.sum()) for x in lps]
        pairs = [parse(h, sep_id=m.separator.id, eos_id=m.tokens.eos, decode=codec.decode) for h in hyps]
        view = codec.roundtrip(rec["summary"])
        valid = [p for p in pairs if p is not None and answer_in_summary(p.answer, rec["summary"], view)]
        sel = select_pairs(valid, 10)
        targets = [list(p.tokens) for p in sel]
        if not targets:
            return None, t1 - t0, 0.0, runner.steps, _digest(targets), []
        lp_src, lp_sum = runner.logp(src_ids, targets), runner.logp(summ_ids, targets)
        t2 = time.perf_counter()
        q = float(np.mean([a.mean() - b.mean() for a, b in zip(lp_src, lp_sum)]))
        return q, t1 - t0, t2 - t1, runner.steps, _digest(targets), [float(x.sum()) for x in lp_src]

    hyp_tokens: list = []  # fixed work: the scored hypotheses, for the overlap between runners
    keys = ("quals", "gen", "score", "steps", "digests", "logp_sums")
    out = {k: [] for k in keys}
    for i, rec in enumerate(records):
        src_ids = list(codec.encode(rec["source"].strip()).ids)
        summ_ids = list(codec.encode(rec["summary"].strip()).ids)
        if i == 0:
            run(src_ids, summ_ids, rec)  # warm-up: first-run allocations and lazy initialisation
        for k, v in zip(keys, run(src_ids, summ_ids, rec)):
            out[k].append(v)
    if args.reference:  # untimed: this runner's log-probs of the reference runner's hypotheses (same model?)
        ref = json.loads(Path(args.reference).read_text())
        out["reference_logp_sums"] = []
        for rec, targets in zip(records, ref):
            src_ids = list(codec.encode(rec["source"].strip()).ids)
            out["reference_logp_sums"].append([float(x.sum()) for x in runner.logp(src_ids, targets)])
    out["times"] = [g + s for g, s in zip(out["gen"], out["score"])]
    out["hypotheses"] = hyp_tokens[1:] if hyp_tokens else []  # the warm-up's first
    out["peak_rss_mb"] = peak_rss_mb()
    json.dump(out, sys.stdout)


# -- roofline and scaling (quals only, one process) ---------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork + exec, so a worker
    would report its parent's peak (e.g. the driver's, after an export) when that is larger."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _digest(targets) -> str:
    """A fingerprint of the scored token sequences, to show that the runners did the same work."""
    return hashlib.sha1(json.dumps([list(t) for t in targets]).encode()).hexdigest()[:10]


# -- the driver ---------------------------------------------------------------------------------------
HF_SEARCH = dict(search="hf", diversity=0.5, min_length=9, max_length=62, length_penalty=1.0)


def run_worker(runner: str, inputs: Path, threads: int, *, bundle: Path, search: dict, work: str = "pairs",
               checkpoint: Path | None = None, onnx_dir: Path | None = None, ct2_dir: Path | None = None,
               compute_type: str = "default", score_top: int = 10, label: str | None = None,
               reference: Path | None = None) -> dict:
    cmd = [sys.executable, __file__, "worker", "--runner", runner, "--bundle", str(bundle),
           "--checkpoint", str(checkpoint or ""), "--optimum-dir", str(onnx_dir or ""), "--ct2-dir", str(ct2_dir or ""),
           "--compute-type", compute_type, "--inputs", str(inputs), "--threads", str(threads), "--work", work,
           "--score-top", str(score_top), "--search", json.dumps(search), "--reference", str(reference or "")]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    sys.stderr.write(f"  {label or runner}: done\n")
    if proc.returncode != 0:
        raise SystemExit(f"{label or runner} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


MERGED = ("gen", "score", "times")  # per-record timings: the median over rounds


class Rounds:
    """Runners of one table, run alternately (A B C, A B C, ...) for `rounds` rounds, then merged: per record, the
    median time over rounds; everything else (scores, steps, digests, log-probs) from the first round, which the
    later rounds must repeat exactly (the work is deterministic); peak RSS the largest."""

    def __init__(self, rounds: int):
        self.rounds = rounds
        self.jobs: dict[str, tuple[tuple, dict]] = {}
        self.after_first: dict[str, object] = {}

    def add(self, label: str, *args, after_first=None, **kw) -> None:
        """A runner (run_worker's arguments); `after_first(row)` runs once its first round is back."""
        self.jobs[label] = (args, {**kw, "label": label})
        if after_first is not None:
            self.after_first[label] = after_first

    def run(self) -> dict[str, dict]:
        runs: dict[str, list[dict]] = {label: [] for label in self.jobs}
        for r in range(self.rounds):
            for label, (args, kw) in self.jobs.items():
                row = run_worker(*args, **kw)
                if r == 0 and label in self.after_first:
                    self.after_first[label](row)
                elif r > 0 and row["digests"] != runs[label][0]["digests"]:
                    raise SystemExit(f"{label}: round {r + 1} did other work than round 1")
                runs[label].append(row)
        merged = {}
        for label, rows in runs.items():
            m = dict(rows[0])
            for k in MERGED:
                m[k] = [statistics.median(xs) for xs in zip(*(row[k] for row in rows))]
            m["peak_rss_mb"] = max(row["peak_rss_mb"] for row in rows)
            m["round_medians"] = [statistics.median(row["times"]) for row in rows]
            merged[label] = m
        return merged


def bench_default(args, inputs: Path) -> dict:
    """Table 1 on the shipped model, then table 2 (plain beam search, fixed work, vs CTranslate2)."""
    paths = shipped_model()
    ckpt, fp32 = paths["checkpoint"], paths["fp32"]
    hf = dict(HF_SEARCH, num_beams=args.beams, num_groups=args.beams)
    plain_hf = dict(hf, num_groups=1, diversity=0.0)
    t1 = Rounds(args.rounds)
    t1.add("quals", "quals", inputs, args.threads, bundle=paths["shipped"], search=hf)
    t1.add("quals fp32", "quals", inputs, args.threads, bundle=fp32, search=hf)
    t1.add("torch", "torch", inputs, args.threads, bundle=fp32, search=hf, checkpoint=ckpt)
    t1.add("optimum", "optimum", inputs, args.threads, bundle=fp32, search=hf, checkpoint=ckpt,
           onnx_dir=optimum_dir(ckpt, fp32))
    if not args.no_ct2:
        t1.add("ctranslate2 (plain beam)", "ct2", inputs, args.threads, bundle=fp32, search=plain_hf,
               ct2_dir=ct2_model(ckpt, "float32"))
    t1.add("quals (authors' search)", "quals", inputs, args.threads, bundle=paths["shipped"],
           search={"search": "fairseq", "num_beams": args.beams, "num_groups": args.beams})
    rows = t1.run()
    out = {"description": "the shipped default model (models/default); PyTorch, Optimum and CTranslate2 run the "
                          "checkpoint rebuilt from its weights", "runners": rows}
    print_table("default", out["description"], rows, args.beams)
    if not args.no_ct2:
        n = args.fixed_steps
        fixed = dict(plain_hf, min_length=n + 1, max_length=n + 1)
        reference = BUILD / "fixed-reference.json"  # quals fp32's hypotheses, scored by every runner afterwards
        reference.unlink(missing_ok=True)
        kw = dict(search=fixed, work="fixed", score_top=10, reference=reference)
        t2 = Rounds(args.rounds)
        t2.add("quals fp32", "quals", inputs, args.threads, bundle=fp32, search=fixed, work="fixed",
               after_first=lambda row: reference.write_text(json.dumps(row["hypotheses"])))
        t2.add("ctranslate2 fp32", "ct2", inputs, args.threads, bundle=fp32, ct2_dir=ct2_model(ckpt, "float32"),
               compute_type="float32", **kw)
        t2.add("quals int8", "quals", inputs, args.threads, bundle=paths["int8"], **kw)
        t2.add("quals head-int8", "quals", inputs, args.threads, bundle=paths["head-int8"], **kw)
        t2.add("ctranslate2 int8", "ct2", inputs, args.threads, bundle=fp32, ct2_dir=ct2_model(ckpt, "int8"),
               compute_type="int8", **kw)
        plain = t2.run()
        plain["quals fp32"]["reference_logp_sums"] = plain["quals fp32"]["logp_sums"]
        out["plain_beam_fixed"] = {"steps": n, "runners": plain}
        print_fixed(plain, args.beams, n)
    if not args.no_profile:
        out["profile"] = run_worker("profile", inputs, args.threads, bundle=fp32, search=hf, checkpoint=ckpt)
        print_profile(out["profile"])
    return out


def bench_base(args, inputs: Path) -> dict:
    """BART-base size, random weights: group beam search of fixed length, top hypotheses rescored."""
    ckpt = random_checkpoint(BUILD / "base-random" / "checkpoint", BASE_SIZE)
    bundle = export_once(ckpt, ckpt.parent / "bundle")
    n = args.fixed_steps
    search = dict(HF_SEARCH, num_beams=args.beams, num_groups=args.beams, min_length=n + 1, max_length=n + 1)
    kw = dict(search=search, work="fixed", score_top=10, checkpoint=ckpt)
    t = Rounds(args.rounds)
    t.add("quals", "quals", inputs, args.threads, bundle=bundle, **kw)
    t.add("torch", "torch", inputs, args.threads, bundle=bundle, **kw)
    t.add("optimum", "optimum", inputs, args.threads, bundle=bundle, onnx_dir=optimum_dir(ckpt, bundle), **kw)
    rows = t.run()
    desc = f"BART-base size, random weights, exactly {n} decoding steps, the top 10 hypotheses rescored"
    print_table("base", desc, rows, args.beams)
    return {"description": desc, "runners": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("worker")
    w.add_argument("--runner", choices=("quals", "torch", "optimum", "ct2", "profile"), required=True)
    for a in ("--checkpoint", "--bundle", "--optimum-dir", "--ct2-dir", "--inputs", "--search"):
        w.add_argument(a, required=True)
    w.add_argument("--compute-type", default="default")
    w.add_argument("--work", choices=("pairs", "fixed"), default="pairs")
    w.add_argument("--score-top", type=int, default=10)
    w.add_argument("--reference", default="", help="JSON: per record, target ids to score after the timing.")
    w.add_argument("--threads", type=int, default=2)
    w.add_argument("--beams", type=int, default=60)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--records", type=int, default=8)
    ap.add_argument("--beams", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3, help="Rounds of the runners, interleaved (A B A B).")
    ap.add_argument("--fixed-steps", type=int, default=40, help="Decoding steps of the fixed-work runs.")
    ap.add_argument("--models", default="default,base")
    ap.add_argument("--json", default=None, help="Also write every measurement here.")
    ap.add_argument("--no-profile", action="store_true", help="Skip the roofline and scaling tables.")
    ap.add_argument("--no-ct2", action="store_true", help="Skip CTranslate2 (an optional bench dependency).")
    args = ap.parse_args()
    if args.cmd == "worker":
        if args.runner == "profile":
            args.beams = json.loads(args.search)["num_beams"]
            profile(args)
        else:
            worker(args)
        return
    if not args.no_ct2:
        try:
            import ctranslate2  # noqa: F401
        except ImportError:
            raise SystemExit("error: CTranslate2 is not installed (pip install ctranslate2; or --no-ct2)") from None

    BUILD.mkdir(parents=True, exist_ok=True)
    inputs = BUILD / f"inputs-{args.records}.jsonl"
    inputs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample_records(args.records)))
    json_path = Path(args.json) if args.json else BUILD / "report.json"
    text_path = json_path.with_suffix(".txt")
    with Tee(text_path):
        before = machine()
        print(f"quals bench: {args.records} records from {DATA / 'eval'} (4 sets), threads {args.threads}, "
              f"{args.beams} beams; group beam search: {args.beams} groups, diversity 0.5, lengths 9-62 (hf units); "
              f"{args.rounds} round(s), runners interleaved")
        print(f"machine: {describe(before)}")
        report = {"threads": args.threads, "records": args.records, "beams": args.beams, "rounds": args.rounds,
                  "machine": before, "models": {}}
        for name in args.models.split(","):
            if name not in ("default", "base"):
                raise SystemExit(f"unknown model {name!r} (default, base)")
            report["models"][name] = bench_default(args, inputs) if name == "default" else bench_base(args, inputs)
        report["load_after"] = machine()["load"]
        print(f"\nload after: {report['load_after'][0]:.2f} (1 min)" if report["load_after"] else "")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1))
    print(f"wrote {text_path} and {json_path}")


class Tee:
    """Everything printed, also into `path` (the report a person reads, beside the JSON)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.file = open(self.path, "w", encoding="utf-8")
        self.stdout = sys.stdout
        sys.stdout = self
        return self

    def write(self, text: str) -> int:
        self.file.write(text)
        return self.stdout.write(text)

    def flush(self) -> None:
        self.file.flush()
        self.stdout.flush()

    def __exit__(self, *exc) -> None:
        sys.stdout = self.stdout
        self.file.close()


if __name__ == "__main__":
    main()
