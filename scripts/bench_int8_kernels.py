"""Which ONNX Runtime kernel gives int8 compute on this CPU, for the shapes of QUALS' decoding step.

    python scripts/bench_int8_kernels.py [--threads 1] [--rows 60] [--vocab 30522] [--json OUT]

One MatMul, [rows, 384] x [384, N], as the search calls it (rows = beams), for the output layer (N = the
vocabulary) and the decoder's projections (N = 384, 1536), in each of these forms, built with ONNX Runtime's
own quantization tools:
- fp32: MatMul;
- nbits8-acc0 / nbits8-acc4: MatMulNBits, 8-bit weights in blocks of 32, fp32 compute (accuracy_level 0) or
  int8 compute (accuracy_level 4: activations quantized per block, integer dot products);
- nbits4-acc4: MatMulNBits, 4-bit weights, int8 compute;
- dynamic-int8: DynamicQuantizeLinear + MatMulInteger (u8 x s8, per-tensor activations: VNNI's QGEMM);
- rowwise-int8: the same integer product with one scale per activation row and per weight column
  (quals.export.rowwise_int8, as the fp16-*-int8 bundles compute), so that a row's numbers never depend on the
  other rows of the call.
Reported: median microseconds per call, the ratio to fp32 in the same run (forms alternate, round by round),
and the largest |difference| from fp32's output relative to its largest |value|. The CPU and its ISA flags are
in the report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from bench_machine import describe, machine
from onnx import TensorProto, helper, numpy_helper
from quals.export.rowwise_int8 import every_matmul, quantize_rowwise


def matmul_model(w: np.ndarray) -> onnx.ModelProto:
    k, n = w.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="lm_head")], "one_matmul",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["rows", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", n])],
        [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])  # the exported decoders' opset


def forms(w: np.ndarray, tmp: Path) -> dict[str, Path]:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    base = matmul_model(w)
    out = {"fp32": tmp / "fp32.onnx"}
    onnx.save(base, out["fp32"])
    for bits, acc in ((8, 0), (8, 4), (4, 4)):
        cfg = DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, accuracy_level=acc, bits=bits)
        q = MatMulNBitsQuantizer(onnx.ModelProto.FromString(base.SerializeToString()), algo_config=cfg)
        q.process()
        path = tmp / f"nbits{bits}-acc{acc}.onnx"
        q.model.save_model_to_file(str(path))
        out[f"nbits{bits}-acc{acc}"] = path
    out["dynamic-int8"] = tmp / "dynamic.onnx"
    quantize_dynamic(out["fp32"], out["dynamic-int8"], weight_type=QuantType.QInt8, per_channel=False)
    rowwise = matmul_model(w)  # the bundles' own rewrite (fp16-head-int8 / fp16-decoder-int8)
    quantize_rowwise(rowwise, every_matmul)
    out["rowwise-int8"] = tmp / "rowwise.onnx"
    onnx.save(rowwise, out["rowwise-int8"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", type=int, default=60)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    report = {"machine": machine(), "onnxruntime": ort.__version__, "threads": args.threads, "rows": args.rows,
              "shapes": {}}
    print(f"{describe(report['machine'])}; onnxruntime {ort.__version__}; {args.threads} thread(s); "
          f"{args.rows} rows")
    for name, n in (("output layer", args.vocab), ("ffn in", 1536), ("projection", 384)):
        w = (rng.standard_normal((384, n)) * 0.05).astype(np.float32)
        a = rng.standard_normal((args.rows, 384)).astype(np.float32)
        with tempfile.TemporaryDirectory() as tmp:
            paths = forms(w, Path(tmp))
            so = ort.SessionOptions()
            so.intra_op_num_threads = args.threads
            sessions = {f: ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
                        for f, p in paths.items()}
        ref = sessions["fp32"].run(None, {"a": a})[0]
        times: dict[str, list[float]] = {f: [] for f in sessions}
        for _ in range(args.rounds):
            for f, s in sessions.items():
                s.run(None, {"a": a})
                t = time.perf_counter()
                for _ in range(args.calls):
                    s.run(None, {"a": a})
                times[f].append((time.perf_counter() - t) / args.calls * 1e6)
        rows = {}
        for f, s in sessions.items():
            y = s.run(None, {"a": a})[0]
            ratio = statistics.median(t / b for t, b in zip(times[f], times["fp32"]))
            rows[f] = {"us": statistics.median(times[f]), "x_fp32": ratio,
                       "rel_err": float(np.abs(y - ref).max() / np.abs(ref).max())}
        report["shapes"][f"{name} 384x{n}"] = rows
        print(f"\n{name}: [{args.rows}, 384] x [384, {n}]")
        print("| form | us/call | x fp32 | max rel. error |")
        print("|---|---|---|---|")
        for f, r in rows.items():
            print(f"| {f} | {r['us']:.0f} | {r['x_fp32']:.2f} | {r['rel_err']:.1e} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
