"""8-bit block-wise weights: ONNX Runtime's MatMulNBits kernel and our Gather dequantisation agree with numpy
on the same packed bytes, tied tables are stored once, and odd shapes stay fp32 and are reported."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from quals.export.weight_int8 import BLOCK, ZERO_POINT, dequantize, pack, quantize_graph  # noqa: E402


def _model(w_gather: np.ndarray, w_matmul: np.ndarray, opset: int = 18) -> onnx.ModelProto:
    """ids [B, T] -> Gather(table) -> MatMul(weight) -> logits; both weights constant, like a decoder."""
    g = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["h"], axis=0),
         helper.make_node("MatMul", ["h", "weight"], ["logits"])],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B", "T"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", w_matmul.shape[1]]),
         helper.make_tensor_value_info("h", TensorProto.FLOAT, ["B", "T", w_gather.shape[1]])],
        [numpy_helper.from_array(w_gather, "table"), numpy_helper.from_array(w_matmul, "weight")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _run(model: onnx.ModelProto, ids: np.ndarray) -> list[np.ndarray]:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(["logits", "h"], {"ids": ids})


def test_pack_round_trip_is_within_half_a_step():
    rng = np.random.default_rng(0)
    b = (rng.standard_normal((96, 7)) * rng.uniform(0.01, 3, size=(96, 1))).astype(np.float32)
    q, s = pack(b)
    assert q.shape == (7, 96 // BLOCK, BLOCK) and q.dtype == np.uint8 and s.shape == (7, 96 // BLOCK)
    err = np.abs(dequantize(q, s).T - b).reshape(96 // BLOCK, BLOCK, 7)
    assert (err <= np.abs(s.T)[:, None, :] / 2 + 1e-7).all()
    assert (q.astype(int) - ZERO_POINT).min() >= -128
    with pytest.raises(ValueError, match="multiple"):
        pack(b[:40])


@pytest.mark.parametrize("accuracy_level", [0, 4])
def test_graph_matches_numpy_on_the_packed_weights(accuracy_level):
    rng = np.random.default_rng(1)
    table = rng.standard_normal((50, 64)).astype(np.float32)
    weight = rng.standard_normal((64, 40)).astype(np.float32)
    model = _model(table, weight)
    ids = rng.integers(0, 50, size=(3, 5))
    ref_logits, ref_h = _run(model, ids)
    r = quantize_graph(model, accuracy_level=accuracy_level)
    assert (r.matmuls, r.gathers, r.shared_tables, r.kept_fp32) == (1, 1, 0, [])
    ops = [n.op_type for n in model.graph.node]
    assert "MatMulNBits" in ops and "MatMul" not in ops
    assert {t.name for t in model.graph.initializer}.isdisjoint({"table", "weight"})  # fp32 copies gone
    onnx.checker.check_model(model)
    logits, h = _run(model, ids)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    table_q = dequantize(inits["table_q8"], inits["table_q8_scales"])
    weight_q = dequantize(inits["weight_q8"], inits["weight_q8_scales"]).T
    np.testing.assert_allclose(h, table_q[ids], rtol=0, atol=1e-6)  # the Gather path is exact dequantisation
    tol = 1e-4
    if accuracy_level == 4:  # activations are also rounded to int8, per block of BLOCK values of one row
        step = np.abs(h).reshape(*h.shape[:-1], -1, BLOCK).max(-1, keepdims=True) / 127
        tol = tol + (np.broadcast_to(step, h.shape[:-1] + (h.shape[-1] // BLOCK, BLOCK)).reshape(h.shape) / 2
                     ) @ np.abs(weight_q)
    assert (np.abs(logits - h @ weight_q) <= tol).all()
    assert np.abs(logits - ref_logits).max() < 0.02 * np.abs(ref_logits).max()  # close to fp32, not garbage
    assert np.abs(h - ref_h).max() <= np.abs(table).max() / 127


@pytest.mark.parametrize("opset", [11, 18])
def test_gather_rows_on_either_unsqueeze_form(opset):
    rng = np.random.default_rng(4)
    table = rng.standard_normal((30, 32)).astype(np.float32)
    model = _model(table, rng.standard_normal((32, 5)).astype(np.float32), opset=opset)
    quantize_graph(model)
    onnx.checker.check_model(model)
    ids = np.array([[3, 29], [0, 7]])
    _, h = _run(model, ids)
    assert h.shape == (2, 2, 32) and np.abs(h - table[ids]).max() <= np.abs(table).max() / 127


def test_tied_table_is_stored_once_and_odd_shapes_stay_fp32():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((40, 32)).astype(np.float32)
    model = _model(table, np.ascontiguousarray(table.T))  # the output layer is the embedding, transposed
    r = quantize_graph(model)
    assert (r.matmuls, r.gathers, r.shared_tables) == (1, 1, 1)
    assert sum(t.data_type == TensorProto.UINT8 for t in model.graph.initializer) == 1
    ids = np.array([[0, 39, 7]])
    logits, h = _run(model, ids)
    assert np.abs(h - table[ids]).max() <= np.abs(table).max() / 127

    odd = _model(rng.standard_normal((40, 24)).astype(np.float32), rng.standard_normal((24, 8)).astype(np.float32))
    r = quantize_graph(odd)
    assert (r.matmuls, r.gathers) == (0, 0) and len(r.kept_fp32) == 2
    assert [n.op_type for n in odd.graph.node] == ["Gather", "MatMul"]


def test_rows_do_not_depend_on_their_batch():
    """accuracy_level 4 quantises activations per row block: a row's output is the same alone or batched."""
    rng = np.random.default_rng(3)
    model = _model(rng.standard_normal((64, 64)).astype(np.float32), rng.standard_normal((64, 96)).astype(np.float32))
    quantize_graph(model, accuracy_level=4)
    ids = rng.integers(0, 64, size=(6, 9))
    batched, _ = _run(model, ids)
    alone = np.concatenate([_run(model, ids[i : i + 1])[0] for i in range(len(ids))])
    np.testing.assert_array_equal(batched, alone)


def test_subgraphs_are_refused():
    then = helper.make_graph([], "then", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1])])
    g = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], then_branch=then, else_branch=then)], "g",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    with pytest.raises(ValueError, match="subgraphs"):
        quantize_graph(helper.make_model(g))
