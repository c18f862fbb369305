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
- rowwise-int8 (-fused): the same integer product with one scale per activation row and per weight column
  (rowwise_model), so that a row's numbers never depend on the other rows of the call.
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


def opsets(default: int) -> list:
    return [helper.make_opsetid("", default), helper.make_opsetid("com.microsoft", 1)]


def matmul_model(w: np.ndarray) -> onnx.ModelProto:
    k, n = w.shape
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "w"], ["y"], name="lm_head")], "one_matmul",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["rows", k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", n])],
        [numpy_helper.from_array(w, "w")])
    return helper.make_model(graph, opset_imports=opsets(17))


def rowwise_model(w: np.ndarray, fused: bool) -> onnx.ModelProto:
    """int8 compute with one scale per activation row (so no row's numbers depend on the other rows of the call)
    and one per weight column: a_q = round(a / s_row) + 128 as uint8 (VNNI's u8 x s8 with a zero point of 128 is
    the exact signed product), MatMulInteger, then both scales. `fused`: MatMulIntegerToFloat applies the column
    scales (ONNX Runtime's contrib op), else Cast + Mul."""
    k, n = w.shape
    w_scale = (np.abs(w).max(axis=0) / 127).astype(np.float32)
    w_q = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
    nodes = [
        helper.make_node("Abs", ["a"], ["abs"]),
        helper.make_node("ReduceMax", ["abs", "axis1"], ["amax"], keepdims=1),
        helper.make_node("Max", ["amax", "tiny"], ["amax_safe"]),
        helper.make_node("Div", ["amax_safe", "c127"], ["s_row"]),
        helper.make_node("Div", ["a", "s_row"], ["a_div"]),
        helper.make_node("Round", ["a_div"], ["a_round"]),
        helper.make_node("Add", ["a_round", "c128"], ["a_shift"]),
        helper.make_node("Cast", ["a_shift"], ["a_q"], to=TensorProto.UINT8),
    ]
    if fused:
        nodes += [helper.make_node("MatMulIntegerToFloat", ["a_q", "w_q", "one", "w_scale", "zp128"], ["y_col"],
                                   domain="com.microsoft"),
                  helper.make_node("Mul", ["y_col", "s_row"], ["y"])]
    else:
        nodes += [helper.make_node("MatMulInteger", ["a_q", "w_q", "zp128"], ["y_i32"]),
                  helper.make_node("Cast", ["y_i32"], ["y_f"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", ["y_f", "w_scale"], ["y_col"]),
                  helper.make_node("Mul", ["y_col", "s_row"], ["y"])]
    inits = [numpy_helper.from_array(w_q, "w_q"), numpy_helper.from_array(w_scale, "w_scale"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array(1e-12, np.float32), "tiny"),
             numpy_helper.from_array(np.array(127, np.float32), "c127"),
             numpy_helper.from_array(np.array(128, np.float32), "c128"),
             numpy_helper.from_array(np.array(1, np.float32), "one"),
             numpy_helper.from_array(np.array(128, np.uint8), "zp128")]
    graph = helper.make_graph(nodes, "rowwise_int8",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["rows", k])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", n])], inits)
    return helper.make_model(graph, opset_imports=opsets(18))


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
    for fused in (False, True):
        name = "rowwise-int8" + ("-fused" if fused else "")
        out[name] = tmp / f"{name}.onnx"
        onnx.save(rowwise_model(w, fused), out[name])
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
