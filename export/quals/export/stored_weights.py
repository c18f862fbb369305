"""fp32 computation from weights stored small (fp16, or int8 blocks where asked), in one shared file.

Why: the default model has 120 MB of distinct fp32 weights, and every int8 *computation* we measured
(weight-int8, dynamic-int8) moved ROC-AUC by more than the 0.01 the project allows. Rounding only the stored
weights is far gentler: each large weight is written in a smaller type, and a few nodes turn it back into the
fp32 tensor of the same name (Cast for fp16; Cast, Mul and Reshape for int8 blocks). Those nodes read only
constants, so ONNX Runtime folds them when it creates the session: the session holds fp32 weights and runs
the fp32 graph unchanged, at fp32 speed; the only error is the rounding of what was stored.

The weights of every graph of a bundle go to one ONNX external-data file. A tensor stored twice is written
once (the token embedding of the encoder and the decoder), and a weight equal to the transpose of another
(BART's tied output layer) becomes a Transpose node of it, so the largest table is in the bundle once.
ONNX Runtime resolves external data next to the model file, for the Python runtime and for the Java and C#
hosts alike, which load sessions from the bundle's paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .onnx_graph import all_nodes, digest, onnx_opset, unsqueeze_last

WEIGHTS_FILE = "weights.bin"
MIN_ELEMENTS = 4096  # smaller tensors (biases, layer norms, shapes) stay fp32 inside the graph: a few kB
ALIGN = 64  # byte alignment of each tensor in the shared file
FP16_MAX = 65504.0


@dataclass
class Report:
    """What storing one graph's weights did (kept in the bundle's provenance)."""

    fp16: int = 0  # weights stored as fp16
    int8: int = 0  # weights stored as int8 blocks (those of the nodes int8_nodes picks)
    transposed: int = 0  # weights rebuilt as the transpose of another stored weight
    kept_fp32: list[str] = field(default_factory=list)  # large weights left fp32, with why


class SharedFile:
    """The external-data file: each distinct tensor's bytes once, at an aligned offset. A context manager."""

    def __init__(self, path: Path):
        self.path = path
        self.size = 0  # bytes written so far
        self._offsets: dict[str, tuple[int, int]] = {}
        self._f = open(path, "wb")  # noqa: SIM115 - closed by close() / __exit__

    def put(self, array: np.ndarray, name: str) -> TensorProto:
        """A tensor `name` whose data is `array`'s bytes (little-endian) in this file."""
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        key = digest(array) + str(array.dtype)
        if key not in self._offsets:
            pad = -self.size % ALIGN
            self._f.write(b"\0" * pad + data)
            self._offsets[key] = (self.size + pad, len(data))
            self.size += pad + len(data)
        offset, length = self._offsets[key]
        t = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(array.dtype), dims=array.shape)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.path.name), ("offset", str(offset)), ("length", str(length))):
            t.external_data.add(key=k, value=v)
        return t

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> SharedFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def int8_blocks(w: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """w [N, K] -> (q [N, K] int8, scales [N, K/block] fp16): symmetric, q = round(w / scale) in [-127, 127]."""
    n, k = w.shape
    blocks = w.reshape(n, k // block, block)
    scales = (np.abs(blocks).max(axis=-1) / 127.0).astype(np.float16)
    safe = np.where(scales == 0, np.float16(1), scales).astype(np.float32)
    q = np.clip(np.rint(blocks / safe[..., None]), -127, 127).astype(np.int8)
    return q.reshape(n, k), scales


def int8_restore(q: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """The inverse of `int8_blocks`, in the order of operations the graph uses: [N, K] fp32."""
    n, k = q.shape
    kb = scales.shape[1]
    return (q.astype(np.float32).reshape(n, kb, k // kb) * scales.astype(np.float32)[..., None]).reshape(n, k)


def store_graph(model: onnx.ModelProto, shared: SharedFile, *, graph: str, int8_nodes: str | None = None,
                block: int = 16) -> Report:
    """Move `model`'s large fp32 weights into `shared`, rewritten in place so that it computes the same graph.

    int8_nodes: a regular expression searched in "<graph>:<node name>" (e.g. "encoder:/layers.0/fc1/MatMul");
    the weights read by a matching node are stored as int8 in blocks of `block` values with one fp16 scale
    each, the others as fp16.
    """
    g = model.graph
    report = Report()
    pick = re.compile(int8_nodes) if int8_nodes else None
    nodes_in = list(all_nodes(g))
    tables = {n.input[0] for n in nodes_in if n.op_type == "Gather"}
    int8 = {i for n in nodes_in if pick and pick.search(f"{graph}:{n.name}") for i in n.input}
    graph_inputs = {i.name for i in g.input}
    inits = [t for t in g.initializer if t.data_type == TensorProto.FLOAT and _numel(t) >= MIN_ELEMENTS]
    inits.sort(key=lambda t: t.name not in tables)  # tables first: the tied output layer is their transpose
    done: dict[str, str] = {}  # digest of an fp32 weight -> the name of the tensor that rebuilds it
    nodes: list[onnx.NodeProto] = []
    small: list[TensorProto] = []
    for t in inits:
        w = numpy_helper.to_array(t)
        if t.name in graph_inputs:  # IR < 4 lists initializers as inputs, which callers may override
            report.kept_fp32.append(f"{t.name} (also a graph input)")
            continue
        if w.ndim == 2 and (src := done.get(digest(w.T))) is not None:
            nodes.append(helper.make_node("Transpose", [src], [t.name], perm=[1, 0], name=f"{t.name}/restore"))
            report.transposed += 1
        elif not np.isfinite(w).all() or np.abs(w).max() > FP16_MAX:
            report.kept_fp32.append(f"{t.name} (values outside the fp16 range)")
            continue
        elif t.name in int8 and w.ndim == 2 and w.shape[1] % block == 0:
            nodes += _int8_restore_nodes(t.name, w, block, shared, g, small, model)
            report.int8 += 1
        else:
            if t.name in int8:
                report.kept_fp32.append(f"{t.name} (int8 asked, shape {list(w.shape)} has no blocks of {block}; fp16)")
            h = shared.put(w.astype(np.float16), f"{t.name}.fp16")
            g.initializer.append(h)
            nodes.append(helper.make_node("Cast", [h.name], [t.name], to=TensorProto.FLOAT, name=f"{t.name}/restore"))
            report.fp16 += 1
        done.setdefault(digest(w), t.name)
        g.initializer.remove(t)
    g.initializer.extend(small)
    kept = list(g.node)
    del g.node[:]
    g.node.extend(nodes + kept)  # the restoring nodes read only constants (or each other, in order)
    return report


def _int8_restore_nodes(name: str, w: np.ndarray, block: int, shared: SharedFile, g: onnx.GraphProto,
                        small: list[TensorProto], model: onnx.ModelProto) -> list[onnx.NodeProto]:
    """Store w [N, K] as int8 blocks; nodes that rebuild the fp32 tensor `name` from them (int8_restore)."""
    q, s = int8_blocks(w, block)
    n, k = w.shape
    p = f"{name}/restore"
    shape3 = numpy_helper.from_array(np.array([n, k // block, block], np.int64), f"{p}/shape3")
    shape2 = numpy_helper.from_array(np.array([n, k], np.int64), f"{p}/shape2")
    axes = numpy_helper.from_array(np.array([-1], np.int64), f"{p}/axes")
    small += [shape3, shape2, axes]
    qi, si = shared.put(q, f"{name}.int8"), shared.put(s, f"{name}.scales")
    g.initializer.extend([qi, si])
    return [
        helper.make_node("Cast", [qi.name], [f"{p}/q"], to=TensorProto.FLOAT, name=f"{p}/cast_q"),
        helper.make_node("Reshape", [f"{p}/q", shape3.name], [f"{p}/q3"], name=f"{p}/blocks"),
        helper.make_node("Cast", [si.name], [f"{p}/s"], to=TensorProto.FLOAT, name=f"{p}/cast_s"),
        unsqueeze_last(f"{p}/s", axes.name, f"{p}/s3", onnx_opset(model), name=f"{p}/unsqueeze"),
        helper.make_node("Mul", [f"{p}/q3", f"{p}/s3"], [f"{p}/w3"], name=f"{p}/scale"),
        helper.make_node("Reshape", [f"{p}/w3", shape2.name], [name], name=f"{p}/rows"),
    ]


def _numel(t: TensorProto) -> int:
    return int(np.prod(t.dims)) if t.dims else 1
