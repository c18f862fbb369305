"""int8 compute for chosen MatMuls, one scale per activation row and per weight column.

The output layer ([rows, 384] x [384, vocabulary]) is most of a decoding step's arithmetic. On CPUs with
VNNI, ONNX Runtime's u8 x s8 integer GEMM (MatMulIntegerToFloat) runs it in 0.29x the time of the fp32 MatMul
(`scripts/bench_int8_kernels.py`: 2.08 against 7.28 ms for 60 rows and 30,522 columns on 1 thread of the AMD
EPYC of docs/performance.md; the decoder's 384 x 1536 and 384 x 384 projections: 0.41x and 0.59x), where
MatMulNBits' int8 path (weight-int8) only reaches 0.73x, 0.96x and 1.01x. The rewrite of `y = h W`:

    s_row = max(|h_row|, 1e-12) / 127                         one scale per row (per beam, per position)
    h_q   = uint8(round(h / s_row) + 128)                     128 is MatMulIntegerToFloat's zero point
    y     = MatMulIntegerToFloat(h_q, W_q, 1, s_col, 128) * s_row     = (h_q - 128) W_q s_col s_row

with W_q = round(W / s_col) in [-127, 127], s_col = max |W[:, col]| / 127. Every row has its own scale, so a
row's numbers never depend on the other rows of the call (unlike dynamic int8's one scale per call: the
batch-composition rule of docs/hosts.md holds without keeping records apart). The rest of the graph is left
as it is (fp16-weights stores it). `output_layer` and `every_matmul` choose what is rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .onnx_graph import onnx_opset, replace_nodes

ZERO_POINT = 128
EPS = 1e-12
# The scalars every rewritten MatMul reads, stored once per graph.
CONSTANTS = {k: f"rowwise_int8_{k}" for k in ("axis", "eps", "c127", "c128", "one", "zp")}


@dataclass
class Report:
    matmuls: int = 0
    weights: int = 0  # int8 values stored
    skipped: list[str] = field(default_factory=list)


Select = Callable[[str, tuple[int, int]], bool]  # (node name, weight shape [K, N]) -> rewrite it?


def output_layer(vocab_size: int) -> Select:
    """The MatMul by a [K, vocab_size] weight: the output layer."""
    return lambda name, shape: shape[1] == vocab_size


def every_matmul(name: str, shape: tuple[int, int]) -> bool:
    return True


def quantize_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[K, N] fp32 -> (int8 [K, N], fp32 scales [N]): symmetric, one scale per column (an all-zero column: 1)."""
    amax = np.abs(w).max(axis=0)
    scale = np.where(amax > 0, amax / 127, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def quantize_rowwise(model: onnx.ModelProto, select: Select) -> Report:
    """Rewrite, in place, every MatMul of `model` by a constant 2-D fp32 weight that `select` picks, as above.
    A graph without subgraphs (quantize the split decoders, then merge them)."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    opset = onnx_opset(model)
    report = Report()
    nodes, new_inits, dropped = [], [], set()
    for n in g.node:
        t = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if t is None or len(t.dims) != 2 or not select(n.name, (t.dims[0], t.dims[1])):
            nodes.append(n)
            continue
        if t.data_type != TensorProto.FLOAT:
            report.skipped.append(f"{n.name} (weight is not fp32)")
            nodes.append(n)
            continue
        q, scale = quantize_columns(numpy_helper.to_array(t))
        p = (n.name or n.output[0]).strip("/").replace("/", "_") + "_i8"
        names = {k: f"{p}_{k}" for k in ("abs", "amax", "amax_safe", "s_row", "h_div", "h_round", "h_shift", "h_q",
                                          "y_col")}
        c = {**CONSTANTS, "w_q": f"{p}_w_q", "w_scale": f"{p}_w_scale"}
        new_inits += [numpy_helper.from_array(q, c["w_q"]), numpy_helper.from_array(scale, c["w_scale"])]
        h = n.input[0]
        nodes += [
            helper.make_node("Abs", [h], [names["abs"]], name=f"{p}/abs"),
            # ReduceMax takes its axes as an input from opset 18, as an attribute before.
            helper.make_node("ReduceMax", [names["abs"], c["axis"]], [names["amax"]], keepdims=1, name=f"{p}/amax")
            if opset >= 18 else
            helper.make_node("ReduceMax", [names["abs"]], [names["amax"]], keepdims=1, axes=[-1], name=f"{p}/amax"),
            helper.make_node("Max", [names["amax"], c["eps"]], [names["amax_safe"]], name=f"{p}/amax_safe"),
            helper.make_node("Div", [names["amax_safe"], c["c127"]], [names["s_row"]], name=f"{p}/s_row"),
            helper.make_node("Div", [h, names["s_row"]], [names["h_div"]], name=f"{p}/h_div"),
            helper.make_node("Round", [names["h_div"]], [names["h_round"]], name=f"{p}/h_round"),
            helper.make_node("Add", [names["h_round"], c["c128"]], [names["h_shift"]], name=f"{p}/h_shift"),
            helper.make_node("Cast", [names["h_shift"]], [names["h_q"]], to=TensorProto.UINT8, name=f"{p}/h_q"),
            helper.make_node("MatMulIntegerToFloat", [names["h_q"], c["w_q"], c["one"], c["w_scale"], c["zp"]],
                             [names["y_col"]], domain="com.microsoft", name=f"{p}/matmul"),
            helper.make_node("Mul", [names["y_col"], names["s_row"]], list(n.output), name=f"{p}/s_row_mul"),
        ]
        dropped.add(n.input[1])
        report.matmuls += 1
        report.weights += q.size
    if report.matmuls:
        constants = [(CONSTANTS["eps"], np.array(EPS, np.float32)), (CONSTANTS["c127"], np.array(127, np.float32)),
                     (CONSTANTS["c128"], np.array(ZERO_POINT, np.float32)), (CONSTANTS["one"], np.array(1, np.float32)),
                     (CONSTANTS["zp"], np.array(ZERO_POINT, np.uint8))]
        if opset >= 18:
            constants.append((CONSTANTS["axis"], np.array([-1], np.int64)))
        new_inits += [numpy_helper.from_array(value, name) for name, value in constants]
        replace_nodes(model, nodes, dropped, new_inits)
    return report
