"""Weights stored as fp16 / int8 blocks in one shared file: ONNX Runtime computes exactly what numpy computes
from the restored weights, each distinct tensor is stored once (a tied, transposed table too), the restoring
nodes are folded away when the session loads, and what cannot be stored smaller stays fp32 with a reason."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from quals.export.stored_weights import (  # noqa: E402
    ALIGN,
    SharedFile,
    int8_blocks,
    int8_restore,
    store_graph,
)

V, D, H = 128, 32, 128  # vocabulary, width, hidden: every weight has MIN_ELEMENTS


def _model(table: np.ndarray, w1: np.ndarray, opset: int = 18) -> onnx.ModelProto:
    """ids -> Gather(table) -> MatMul(w1) -> Relu -> MatMul(w1.T) -> MatMul(table.T): a tied output layer."""
    g = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["h"], axis=0, name="/embed_tokens/Gather"),
         helper.make_node("MatMul", ["h", "w1"], ["a"], name="/fc1/MatMul"),
         helper.make_node("Relu", ["a"], ["r"]),
         helper.make_node("MatMul", ["r", "w2"], ["b"], name="/fc2/MatMul"),
         helper.make_node("MatMul", ["b", "head"], ["logits"], name="/lm_head/MatMul")],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["B", "T"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", V])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(w1, "w1"),
         numpy_helper.from_array(np.ascontiguousarray(w1.T), "w2"),
         numpy_helper.from_array(np.ascontiguousarray(table.T), "head")],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _forward(table, w1, w2, head, ids):
    return np.maximum(table[ids] @ w1, 0) @ w2 @ head


def _weights(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((V, D)).astype(np.float32) * 0.3,
            (rng.standard_normal((D, H)) * rng.uniform(0.01, 2, size=(D, 1))).astype(np.float32))


def _session(path, **opts) -> ort.InferenceSession:
    so = ort.SessionOptions()
    for k, v in opts.items():
        setattr(so, k, v)
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def test_int8_blocks_round_trip_within_half_a_step():
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((7, 96)) * rng.uniform(0.01, 3, size=(7, 1))).astype(np.float32)
    w[3, :16] = 0  # an all-zero block
    q, s = int8_blocks(w, 16)
    assert q.dtype == np.int8 and q.shape == w.shape and s.dtype == np.float16 and s.shape == (7, 6)
    assert np.abs(q.astype(int)).max() <= 127
    err = np.abs(int8_restore(q, s) - w).reshape(7, 6, 16)
    assert (err <= 0.51 * s.astype(np.float32)[..., None] + 1e-7).all()  # half a step (+ the fp16 scale's rounding)
    assert (int8_restore(q, s)[3, :16] == 0).all()


@pytest.mark.parametrize("opset", [11, 18])
def test_ort_computes_the_restored_weights_and_stores_each_tensor_once(tmp_path, opset):
    table, w1 = _weights()
    ids = np.array([[1, 5, 127], [0, 2, 2]], dtype=np.int64)
    shared = SharedFile(tmp_path / "weights.bin")
    reports = {}
    for name, pattern in (("encoder", None), ("decoder", "decoder:/fc1/")):
        m = _model(table, w1, opset)
        reports[name] = store_graph(m, shared, graph=name, int8_nodes=pattern, block=16)
        assert {t.name for t in m.graph.initializer}.isdisjoint({"table", "w1", "w2", "head"})
        onnx.save(m, str(tmp_path / f"{name}.onnx"))
    shared.close()
    enc, dec = reports["encoder"], reports["decoder"]
    assert (enc.fp16, enc.int8, enc.transposed, enc.kept_fp32) == (2, 0, 2, [])  # w2 = w1.T, head = table.T
    assert (dec.fp16, dec.int8, dec.transposed, dec.kept_fp32) == (1, 1, 2, [])
    # table fp16 and w1 fp16 written once for both graphs, w1 int8 + scales once more: nothing else
    distinct = V * D * 2 + D * H * 2 + D * H + D * (H // 16) * 2
    assert distinct <= shared.size <= distinct + 4 * ALIGN

    t16 = table.astype(np.float16).astype(np.float32)
    w16 = w1.astype(np.float16).astype(np.float32)
    w8 = int8_restore(*int8_blocks(w1, 16))
    want = {"encoder": _forward(t16, w16, w16.T, t16.T, ids), "decoder": _forward(t16, w8, w8.T, t16.T, ids)}
    fp32 = _forward(table, w1, w1.T, table.T, ids)
    for name in reports:
        got = _session(tmp_path / f"{name}.onnx").run(["logits"], {"ids": ids})[0]
        np.testing.assert_allclose(got, want[name], rtol=1e-5, atol=1e-5)
        assert 0 < np.abs(got - fp32).max() < 0.05 * np.abs(fp32).max()  # rounded, not garbage
    # ONNX Runtime folds the restoring nodes when the session loads: the graph it runs is the fp32 one.
    _session(tmp_path / "decoder.onnx", optimized_model_filepath=str(tmp_path / "opt.onnx"))
    ops = {n.op_type for n in onnx.load(str(tmp_path / "opt.onnx"), load_external_data=False).graph.node}
    assert ops.isdisjoint({"Cast", "Transpose", "Mul"}), ops


def test_what_cannot_be_stored_smaller_stays_fp32_with_a_reason(tmp_path):
    table, w1 = _weights(1)
    w1[0, 0] = 1e6  # beyond fp16
    m = _model(table, w1)
    m.graph.input.append(helper.make_tensor_value_info("table", TensorProto.FLOAT, [V, D]))  # an IR<4 style input
    shared = SharedFile(tmp_path / "w.bin")
    r = store_graph(m, shared, graph="encoder", int8_nodes="lm_head", block=256)  # V=128: no blocks of 256
    shared.close()
    assert any(k.startswith("table (also a graph input)") for k in r.kept_fp32)
    assert any(k.startswith("w1 (values outside the fp16 range)") for k in r.kept_fp32)
    assert any(k.startswith("head (int8 asked") for k in r.kept_fp32)  # stored fp16 instead
    kept = {t.name for t in m.graph.initializer if t.data_type == TensorProto.FLOAT and t.raw_data}
    assert {"table", "w1"} <= kept
    onnx.save(m, str(tmp_path / "m.onnx"))
    ids = np.array([[3, 4]], dtype=np.int64)
    got = _session(tmp_path / "m.onnx").run(["logits"], {"ids": ids})[0]
    head16 = np.ascontiguousarray(table.T).astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(got, _forward(table, w1, w1.T, head16, ids), rtol=1e-5, atol=1e-3)
