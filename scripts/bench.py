"""`make bench`: quals against the PyTorch reference and Optimum, in one run, on the same work.

Every runner gets the same model, the same token ids (encoded once, by the bundle's codec), the same
search settings (transformers' group beam search semantics: quals `--search hf` reproduces it token for
token) and the same thread count, and does the same work per record: the diverse beam search on the
summary, the QA pairs parsed and selected by quals' own code, then both teacher-forced passes (pairs on
the source and on the summary). Each runner runs in its own process, so its peak RSS is its own.

    python scripts/bench.py [--threads 2] [--records 8] [--models default,base] [--json OUT]

Speed does not depend on the weights, but the number of decoding steps does: all runners share one
model and the inputs, and the table reports decoder steps too. Numbers are medians per summary.
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

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
DATA = Path(os.environ.get("QUALS_DATA", ROOT.parent / "shared" / "data"))
RUNNERS = ("quals", "torch", "optimum")
SHIPPED_BUNDLE = ROOT / "models" / "default"  # the shipped default model: an extra quals row for "default"

# BART-base's shape (random weights); the vocabulary is the default bundle's, grown to BART's 50,265 rows
# so the LM head costs what it costs in BART-base (ids beyond the tokenizer's are never fed).
BASE_SIZE = dict(d_model=768, encoder_layers=6, decoder_layers=6, encoder_attention_heads=12,
                 decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072,
                 max_position_embeddings=1024, vocab_size=50265)
DEFAULT_SIZE = dict(d_model=384, encoder_layers=6, decoder_layers=3, encoder_attention_heads=12,
                    decoder_attention_heads=12, encoder_ffn_dim=1536, decoder_ffn_dim=1536,
                    max_position_embeddings=512, vocab_size=30522)


# -- models -------------------------------------------------------------------------------------------
def random_checkpoint(out: Path, size: dict, seed: int = 0, eos_bias: float = 6.0) -> Path:
    """A BART checkpoint with random weights and the default bundle's tokenizer.

    `eos_bias` lifts EOS in the final logits bias so that hypotheses end after roughly as many steps as
    the trained model's QA pairs (a random model would otherwise always run to max_length).
    """
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
    with torch.no_grad():
        model.final_logits_bias[0, tok.eos_token_id] = eos_bias
    model.generation_config.forced_eos_token_id = None
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def prepare_model(name: str) -> tuple[Path, Path, str]:
    """(checkpoint, fp32 bundle, description) of a benchmark model, built once under build/bench."""
    from quals.export import export_bundle

    if name == "default":
        trained = ROOT / "build/train-default/checkpoint"
        if (trained / "config.json").is_file():
            ckpt, bundle = trained, BUILD / "default-trained" / "bundle"
            desc = "the default model (its trained checkpoint, exported fp32 with a merged decoder)"
        else:
            ckpt = random_checkpoint(BUILD / "default-random" / "checkpoint", DEFAULT_SIZE)
            bundle = ckpt.parent / "bundle"
            desc = "the default model's shape, random weights (its trained checkpoint is not on this machine)"
    elif name == "base":
        ckpt = random_checkpoint(BUILD / "base-random" / "checkpoint", BASE_SIZE)
        bundle = ckpt.parent / "bundle"
        desc = "BART-base size, random weights"
    else:
        raise SystemExit(f"unknown model {name!r}")
    if not (bundle / "quals.json").is_file():
        print(f"exporting {ckpt} -> {bundle} (once)", flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's warnings say nothing about the benchmark
            export_bundle(ckpt, bundle, max_source_tokens=ckpt_max_source(ckpt), overwrite=True)
    return ckpt, bundle, desc


def ckpt_max_source(ckpt: Path) -> int:
    cfg = json.loads((ckpt / "config.json").read_text())
    return cfg["max_position_embeddings"] - 2


def optimum_dir(ckpt: Path, bundle: Path) -> Path:
    """The bundle's ONNX files with the checkpoint's config, laid out as Optimum loads them."""
    d = BUILD / "optimum" / hashlib.sha1(str(bundle.resolve()).encode()).hexdigest()[:10]
    d.mkdir(parents=True, exist_ok=True)
    for f in list(bundle.glob("*.onnx")) + [ckpt / "config.json", ckpt / "generation_config.json"]:
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
    import numpy as np
    from quals.qa import parse, select
    from quals.scorer import Scorer
    from quals.search import Hypothesis

    records = [json.loads(line) for line in Path(args.inputs).read_text(encoding="utf-8").splitlines()]
    search = dict(num_beams=args.beams, num_groups=args.beams, diversity=0.5, min_length=9, max_length=62,
                  length_penalty=1.0)
    scorer = Scorer.load(args.bundle, threads=args.threads, search="hf", variant="clean", max_pairs=10, **search)
    m, codec = scorer.manifest, scorer.codec
    hf_kwargs = dict(num_beams=args.beams, num_beam_groups=args.beams, diversity_penalty=0.5, min_length=9,
                     max_length=62, length_penalty=1.0, num_return_sequences=args.beams, do_sample=False,
                     early_stopping=False, output_scores=True, return_dict_in_generate=True)

    if args.runner in ("quals", "quals-shipped"):
        states = []
        start = scorer.engine.start
        scorer.engine.start = lambda *a, **k: states.append(start(*a, **k)) or states[-1]  # count decoder steps

        def run(src_ids, summ_ids, rec):
            states.clear()
            r = scorer.score([rec["source"]], [rec["summary"]])[0]
            return r.quals, sum(st.steps for st in states), _digest_pairs(r.pairs)
    else:
        import torch

        torch.set_num_threads(args.threads)
        if args.runner == "torch":
            from transformers import AutoModelForSeq2SeqLM

            model = AutoModelForSeq2SeqLM.from_pretrained(args.checkpoint).eval()
        else:
            import onnxruntime as ort
            from optimum.onnxruntime import ORTModelForSeq2SeqLM

            so = ort.SessionOptions()
            so.intra_op_num_threads, so.inter_op_num_threads = args.threads, 1
            model = ORTModelForSeq2SeqLM.from_pretrained(args.optimum_dir, session_options=so, use_cache=True,
                                                         provider="CPUExecutionProvider")

        def logp_of(ids, targets):
            """Teacher-forced per-token log-probs of `targets` given the encoder input `ids`."""
            width = max(len(t) for t in targets)
            dec_in = torch.full((len(targets), width), m.tokens.pad, dtype=torch.long)
            tgt = torch.full((len(targets), width), m.tokens.pad, dtype=torch.long)
            for i, t in enumerate(targets):
                dec_in[i, : len(t)] = torch.tensor([m.tokens.decoder_start, *t[:-1]])
                tgt[i, : len(t)] = torch.tensor(t)
            inp = torch.tensor([ids]).expand(len(targets), -1)
            out = model(input_ids=inp, attention_mask=torch.ones_like(inp), decoder_input_ids=dec_in)
            logp = torch.log_softmax(out.logits.float(), dim=-1).gather(-1, tgt[..., None])[..., 0]
            return [logp[i, : len(t)].numpy() for i, t in enumerate(targets)]

        def run(src_ids, summ_ids, rec):
            with torch.no_grad():
                inp = torch.tensor([summ_ids])
                out = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), **hf_kwargs)
                seqs = out.sequences[:, 1:].tolist()
                hyps = []
                for row, s in zip(seqs, out.sequences_scores.tolist()):
                    finished = m.tokens.eos in row
                    row = row[: row.index(m.tokens.eos) + 1] if finished else [t for t in row if t != m.tokens.pad]
                    total = s * len(row)  # length_penalty 1: the summed score, spread evenly (ranking only)
                    hyps.append(Hypothesis(tuple(row), tuple([total / len(row)] * len(row)), s, finished))
                pairs = [parse(h, sep_id=m.separator.id, eos_id=m.tokens.eos, decode=codec.decode) for h in hyps]
                view = codec.roundtrip(rec["summary"])
                from quals.qa import answer_in_summary

                kept = [p for p in pairs if p is not None and answer_in_summary(p.answer, rec["summary"], view)]
                sel = select(kept, 10)
                if not sel:
                    return None, out.sequences.shape[1] - 1, _digest_pairs(())
                targets = [list(p.tokens) for p in sel]
                lp_src, lp_sum = logp_of(src_ids, targets), logp_of(summ_ids, targets)
                q = float(np.mean([a.mean() - b.mean() for a, b in zip(lp_src, lp_sum)]))
                return q, out.sequences.shape[1] - 1, _digest_pairs(sel)

    times, steps, digests, values = [], [], [], []
    for i, rec in enumerate(records):
        src_ids = list(codec.encode(rec["source"].strip()).ids)
        summ_ids = list(codec.encode(rec["summary"].strip()).ids)
        if i == 0:
            run(src_ids, summ_ids, rec)  # warm-up: first-run allocations and lazy initialisation
        t0 = time.perf_counter()
        q, n_steps, digest = run(src_ids, summ_ids, rec)
        times.append(time.perf_counter() - t0)
        steps.append(n_steps)
        digests.append(digest)
        values.append(q)
    rss_mb = peak_rss_mb()
    json.dump({"runner": args.runner, "times": times, "steps": steps, "digests": digests, "quals": values,
               "peak_rss_mb": rss_mb}, sys.stdout)


# -- roofline and scaling (quals only, one process) ---------------------------------------------------------
def gemm_peak(threads: int, m: int, k: int, n: int, repeats: int = 5) -> float:
    """FLOP/s of one float32 (m,k)x(k,n) MatMul in ONNX Runtime, the decoder's own kernel; best of `repeats`."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "mm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])],
        [helper.make_tensor("b", TensorProto.FLOAT, [k, n], np.random.rand(k * n).astype(np.float32))],
    )
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
                                .SerializeToString(), so, providers=["CPUExecutionProvider"])
    a = np.random.rand(m, k).astype(np.float32)
    sess.run(None, {"a": a})
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        sess.run(None, {"a": a})
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n / best


class DecoderMeter:
    """Wraps the decoder session's run: time inside ONNX Runtime and the FLOPs of what it computed.

    FLOPs count the matrix products (projections, FFN, LM head) and attention (scores and weighted sum,
    over the self-attention prefix and the source) of every computed position; layer norms, softmax and
    the like are left out (< 2%).
    """

    def __init__(self, session, cfg: dict):
        self.run, self.cfg = session.run, cfg
        self.seconds = {"search": 0.0, "teacher": 0.0}
        self.flops = {"search": 0.0, "teacher": 0.0}
        session.run = self

    def __call__(self, names, feeds):
        ids, mask = feeds["input_ids"], feeds["encoder_attention_mask"]
        rows, t = ids.shape
        past = next((v.shape[2] for k, v in feeds.items() if k.startswith("past_key_values") and ".decoder." in k), 0)
        kind = "search" if t == 1 else "teacher"
        t0 = time.perf_counter()
        out = self.run(names, feeds)
        self.seconds[kind] += time.perf_counter() - t0
        c = self.cfg
        d, ffn, layers, vocab = c["d_model"], c["decoder_ffn_dim"], c["decoder_layers"], c["vocab_size"]
        src = mask.shape[1]
        prefix = past + (t + 1) / 2  # mean self-attention span of the computed positions
        per_position = layers * (6 * d * d + 2 * d * ffn + 2 * prefix * d + 2 * src * d) + d * vocab
        cross_kv = layers * 2 * src * d * d if past == 0 else 0  # K and V of the source, on the first call only
        self.flops[kind] += 2.0 * rows * (t * per_position + cross_kv)
        return out


def profile(args: argparse.Namespace) -> None:
    """Roofline of the decoding and the scaling tables, for the quals runtime on the fp32 bundle."""
    from quals.scorer import Scorer

    cfg = json.loads((Path(args.checkpoint) / "config.json").read_text())
    records = [json.loads(line) for line in Path(args.inputs).read_text(encoding="utf-8").splitlines()]
    search = dict(search="hf", diversity=0.5, min_length=9, max_length=62, length_penalty=1.0)

    def per_summary(scorer, recs, per_call: int = 1) -> float:
        """Mean seconds per summary over `recs`, scored `per_call` records per `score` call."""
        scorer.score([recs[0]["source"]], [recs[0]["summary"]])  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(recs), per_call):
            chunk = recs[i : i + per_call]
            scorer.score([r["source"] for r in chunk], [r["summary"] for r in chunk])
        return (time.perf_counter() - t0) / len(recs)

    out: dict = {"gemm_peak_flops": gemm_peak(args.threads, 2048, 2048, 2048),
                 "lm_head_gemm_flops": gemm_peak(args.threads, args.beams, cfg["d_model"], cfg["vocab_size"])}
    scorer = Scorer.load(args.bundle, threads=args.threads, num_beams=args.beams, num_groups=args.beams, **search)
    meter = DecoderMeter(scorer.engine.decoder, cfg)
    t0 = time.perf_counter()
    for r in records:
        scorer.score([r["source"]], [r["summary"]])
    out["total_seconds"] = time.perf_counter() - t0
    out["decoder_seconds"], out["decoder_flops"] = dict(meter.seconds), dict(meter.flops)
    scorer.engine.decoder.run = meter.run  # the tables below are timed without the meter

    sub = records[: min(4, len(records))]
    out["beams"] = {b: per_summary(Scorer.load(args.bundle, threads=args.threads, num_beams=b, num_groups=b,
                                               **search), sub) for b in (10, 30, 60)}
    limit = cfg["max_position_embeddings"] - 2
    long_source = " ".join(r["source"] for r in records)
    lengths = sorted({min(n, limit) for n in (128, 256, 512, 1024)})  # the model's limit stands in for longer
    out["source_tokens"] = {}
    for n in lengths:
        sc = Scorer.load(args.bundle, threads=args.threads, num_beams=args.beams, num_groups=args.beams,
                         max_source_tokens=min(n, limit), **search)
        recs = [{"source": long_source, "summary": r["summary"]} for r in sub]
        out["source_tokens"][n] = per_summary(sc, recs)
    out["per_call"] = {k: per_summary(scorer, records, k) for k in (1, 4, len(records))}
    json.dump(out, sys.stdout)


def print_profile(p: dict) -> None:
    search_s, search_f = p["decoder_seconds"]["search"], p["decoder_flops"]["search"]
    peak = p["gemm_peak_flops"]
    print(f"roofline: GEMM peak (ORT MatMul 2048^3 fp32) {peak / 1e9:.0f} GFLOP/s; "
          f"LM-head-shaped GEMM {p['lm_head_gemm_flops'] / 1e9:.0f} GFLOP/s")
    print(f"  search decoder calls: {search_f / 1e9:.1f} GFLOP in {search_s:.2f} s inside ONNX Runtime = "
          f"{search_f / search_s / 1e9:.0f} GFLOP/s ({search_f / search_s / peak:.0%} of peak); "
          f"over the whole scoring time {p['total_seconds']:.2f} s: "
          f"{(search_f + p['decoder_flops']['teacher']) / p['total_seconds'] / peak:.0%} of peak")
    for label, key in (("beams (= groups)", "beams"), ("source tokens", "source_tokens"),
                       ("summaries per call", "per_call")):
        print(f"  mean s/summary by {label:<19}" + "  ".join(f"{k}: {v:.3f} s" for k, v in p[key].items()))


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork + exec, so a worker
    would report its parent's peak (e.g. the driver's, after an export) when that is larger."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _digest_pairs(pairs) -> str:
    """A fingerprint of the selected pairs' tokens, to show that the runners did the same work."""
    return hashlib.sha1(json.dumps([list(p.tokens) for p in pairs]).encode()).hexdigest()[:10]


# -- the driver ---------------------------------------------------------------------------------------
def run_worker(runner: str, ckpt: Path, bundle: Path, inputs: Path, threads: int, beams: int) -> dict:
    cmd = [sys.executable, __file__, "worker", "--runner", runner, "--checkpoint", str(ckpt), "--bundle",
           str(bundle), "--optimum-dir", str(optimum_dir(ckpt, bundle) if runner == "optimum" else ""),
           "--inputs", str(inputs),
           "--threads", str(threads), "--beams", str(beams)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    sys.stderr.write(f"  {runner}: done\n")
    if proc.returncode != 0:
        raise SystemExit(f"{runner} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("worker")
    w.add_argument("--runner", choices=RUNNERS + ("quals-shipped", "profile"), required=True)
    for a in ("--checkpoint", "--bundle", "--optimum-dir", "--inputs"):
        w.add_argument(a, required=True)
    w.add_argument("--threads", type=int, default=2)
    w.add_argument("--beams", type=int, default=60)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--records", type=int, default=8)
    ap.add_argument("--beams", type=int, default=60)
    ap.add_argument("--models", default="default,base")
    ap.add_argument("--json", default=None, help="Also write every measurement here.")
    ap.add_argument("--no-profile", action="store_true", help="Skip the roofline and scaling tables.")
    args = ap.parse_args()
    if args.cmd == "worker":
        profile(args) if args.runner == "profile" else worker(args)
        return

    BUILD.mkdir(parents=True, exist_ok=True)
    inputs = BUILD / f"inputs-{args.records}.jsonl"
    inputs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample_records(args.records)))
    print(f"quals bench: {args.records} records from {DATA / 'eval'} (4 sets), threads {args.threads}, "
          f"group beam search {args.beams} beams / {args.beams} groups, diversity 0.5, lengths 9-62 (hf units)")
    print("speed does not depend on the weights (the number of decoding steps does: same model and inputs for all)")
    report = {"threads": args.threads, "records": args.records, "beams": args.beams, "models": {}}
    for name in args.models.split(","):
        ckpt, bundle, desc = prepare_model(name)
        rows = {r: run_worker(r, ckpt, bundle, inputs, args.threads, args.beams) for r in RUNNERS}
        if name == "default":
            rows["quals-shipped"] = run_worker("quals-shipped", ckpt, SHIPPED_BUNDLE, inputs, args.threads,
                                               args.beams)
        report["models"][name] = {"description": desc, "runners": rows}
        print_table(name, desc, rows, args.beams)
        if not args.no_profile:
            prof = run_worker("profile", ckpt, bundle, inputs, args.threads, args.beams)
            report["models"][name]["profile"] = prof
            print_profile(prof)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


def print_table(name: str, desc: str, rows: dict, beams: int) -> None:
    base = statistics.median(rows["quals"]["times"])
    print(f"\n== {name}: {desc}")
    print(f"{'runner':<13} {'median s/summary':>17} {'x quals':>8} {'beam-steps/s':>13} {'peak RSS MB':>12} "
          f"{'x quals':>8}  same pairs as quals")
    ref = rows["quals"]
    for r, row in rows.items():
        med = statistics.median(row["times"])
        steps = [s for s in row["steps"] if s is not None] or ref["steps"]
        rate = sum(s * beams for s in steps if s) / sum(row["times"])
        same = sum(a == b for a, b in zip(row["digests"], ref["digests"]))
        same_txt = f"{same}/{len(row['digests'])}" + (" (rounded weights)" if r == "quals-shipped" else "")
        print(f"{r:<13} {med:>17.3f} {med / base:>8.2f} {rate:>13.0f} {row['peak_rss_mb']:>12.0f} "
              f"{row['peak_rss_mb'] / ref['peak_rss_mb']:>8.2f}  {same_txt}")


if __name__ == "__main__":
    main()
