"""`make bench`'s roofline of the decoding and its scaling tables (scripts/bench.py profile): the decoder's time
inside ONNX Runtime and its FLOPs, against the machine's GEMM peak."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


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
    """Time inside ONNX Runtime of the decoder's calls and the FLOPs of what they computed (while `on`).

    FLOPs count the matrix products (projections, FFN, LM head) and attention (scores and weighted sum,
    over the self-attention prefix and the source) of every computed position; layer norms, softmax and
    the like are left out (< 2%).
    """

    def __init__(self, cfg: dict):
        self.cfg, self.on = cfg, True
        self.seconds = {"search": 0.0, "teacher": 0.0}
        self.flops = {"search": 0.0, "teacher": 0.0}

    def __call__(self, run, names, feeds):
        if not self.on:
            return run(names, feeds)
        ids, mask = feeds["input_ids"], feeds["encoder_attention_mask"]
        rows, t = ids.shape
        past = next((v.shape[2] for k, v in feeds.items() if k.startswith("past_key_values") and ".decoder." in k), 0)
        kind = "search" if t == 1 else "teacher"
        t0 = time.perf_counter()
        out = run(names, feeds)
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
    from quals.bundle import load_bundle
    from quals.engine import Engine
    from quals.options import default_options
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
    meter = DecoderMeter(cfg)
    search_seconds = [0.0]

    class MeteredEngine(Engine):  # the decoder's ONNX Runtime calls, through the engine's run_session seam
        def run_session(self, session, names, feeds):
            if session is self.encoder:
                return super().run_session(session, names, feeds)
            return meter(lambda n, f: super(MeteredEngine, self).run_session(session, n, f), names, feeds)

    class TimedScorer(Scorer):  # the whole search: decoder calls plus the numpy/Python work around them
        def search(self, enc, opts):
            t = time.perf_counter()
            try:
                return super().search(enc, opts)
            finally:
                search_seconds[0] += time.perf_counter() - t

    b = load_bundle(args.bundle)
    scorer = TimedScorer(b, MeteredEngine(b, threads=args.threads),
                         default_options(b, num_beams=args.beams, num_groups=args.beams, **search))
    t0 = time.perf_counter()
    for r in records:
        scorer.score([r["source"]], [r["summary"]])
    out["total_seconds"] = time.perf_counter() - t0
    out["search_seconds"] = search_seconds[0]
    out["decoder_seconds"], out["decoder_flops"] = dict(meter.seconds), dict(meter.flops)
    meter.on = False  # the tables below are timed without the meter

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
    print(f"  the search: {p['search_seconds']:.2f} s, of which {search_s / p['search_seconds']:.0%} inside ONNX "
          "Runtime (the rest: log-softmax, top-k, beam bookkeeping, KV reordering)")
    for label, key in (("beams (= groups)", "beams"), ("source tokens", "source_tokens"),
                       ("summaries per call", "per_call")):
        print(f"  mean s/summary by {label:<19}" + "  ".join(f"{k}: {v:.3f} s" for k, v in p[key].items()))
