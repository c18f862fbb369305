"""Small ONNX graph helpers shared by the weight rewriters (weight_int8, rowwise_int8, stored_weights) and
hf_rebuild."""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
from onnx import helper


def digest(a: np.ndarray) -> str:
    """Identity of an array's values and shape: equal tensors are stored once."""
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest() + str(a.shape)


def onnx_opset(model: onnx.ModelProto) -> int:
    """The model's default-domain opset (0 when it declares none)."""
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def unsqueeze_last(x: str, axes: str, out: str, opset: int, name: str = "") -> onnx.NodeProto:
    """Unsqueeze(x) on a new last axis; `axes` names an int64 [-1] initializer (an input from opset 13 on,
    an attribute before)."""
    if opset >= 13:
        return helper.make_node("Unsqueeze", [x, axes], [out], name=name)
    return helper.make_node("Unsqueeze", [x], [out], axes=[-1], name=name)


def replace_nodes(model: onnx.ModelProto, nodes: list[onnx.NodeProto], replaced: set[str],
                  new_inits: list[onnx.TensorProto]) -> None:
    """Give `model` its rewritten node list: the initializers in `replaced` that no node reads any more are
    dropped, `new_inits` added, and the com.microsoft opset declared (the rewriters' int8 ops live there)."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    del g.node[:]
    g.node.extend(nodes)
    still_used = {x for n in g.node for x in n.input}
    for name in replaced - still_used:
        g.initializer.remove(inits[name])
    g.initializer.extend(new_inits)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))


def subgraphs(node: onnx.NodeProto):
    """The graphs a node holds (an If's branches, a Loop's body)."""
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            yield a.g
        elif a.type == onnx.AttributeProto.GRAPHS:
            yield from a.graphs


def all_nodes(g: onnx.GraphProto):
    """Every node of `g`, each followed by the nodes of its subgraphs (depth first)."""
    for n in g.node:
        yield n
        for sub in subgraphs(n):
            yield from all_nodes(sub)


def graphs_of(g: onnx.GraphProto):
    """`g` and every subgraph in it, outer graphs first."""
    yield g
    for n in g.node:
        for sub in subgraphs(n):
            yield from graphs_of(sub)
