"""A Hugging Face checkpoint rebuilt from a bundle's own weights (BART family).

Why: a bundle is what ships (the default model exists only as one), but fine-tuning, the PyTorch and
Optimum benchmark runners and other toolkits (CTranslate2's converter) want a Hugging Face checkpoint.
Rebuilt from the bundle, it computes with exactly the weights the runtime computes with: the fp32 values
of what the bundle stores (fp16 and int8 blocks restored the way ONNX Runtime folds them at load time).

How: the ONNX exporter names each node after the module that produced it (`/model/decoder/layers.0/
self_attn/q_proj/MatMul`), so a weight's Hugging Face name follows from the node that consumes it and how
(a MatMul's right operand is a Linear's transposed weight, an Add's constant its bias, a LayerNormalization's
scale and bias, a Gather's table an embedding). The configuration is read off the graphs: sizes from the
weights' shapes, the activation from the operators of `activation_fn`, embedding scaling from its constant.
Nothing is trusted: every parameter of the rebuilt model must be filled exactly once (tied ones equal),
and its teacher-forced log-probs must match the bundle's on the exporter's validation pairs.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from quals.bundle import load_bundle

from .exporter import ExportError, replace_files, validate
from .onnx_graph import all_nodes, graphs_of

FOLDABLE = {"Cast", "Mul", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Identity", "DequantizeLinear"}
ACTIVATIONS = (({"Erf"}, "gelu"), ({"Gelu"}, "gelu"), ({"Tanh", "Pow"}, "gelu_new"), ({"Relu"}, "relu"),
               ({"Sigmoid"}, "silu"))
INT8_COMPUTE = {"MatMulNBits", "MatMulInteger", "MatMulIntegerToFloat", "DynamicQuantizeLinear", "QLinearMatMul",
                "GatherBlockQuantized"}
TIED = ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight")
ATOL = 1e-4  # max |d log p| between the rebuilt model and the bundle (measured: ~1e-5, float rounding)
REPORT = "quals_rebuild.json"


class RebuildError(ExportError):
    """The bundle cannot be turned back into a Hugging Face checkpoint (and why)."""


def rebuild_checkpoint(bundle_dir: str | Path, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the Hugging Face checkpoint (config, weights, tokenizer) that the bundle computes, to `out`.

    Returns `out`. Raises RebuildError when the bundle is not BART-family, a weight cannot be placed,
    or the rebuilt model's log-probs differ from the bundle's by more than ATOL.
    """
    import torch
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    bundle_dir, out = Path(bundle_dir), Path(out)
    bundle = load_bundle(bundle_dir)
    m = bundle.manifest
    if m.model_type != "bart":
        raise RebuildError(f"model_type {m.model_type!r}: only BART bundles can be rebuilt so far")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RebuildError(f"{out}: exists and is not empty (pass --overwrite)")
    graphs = {role: onnx.load(str(bundle.file(role))) for role, name in m.files.items() if name.endswith(".onnx")}
    int8_ops = {n.op_type for g in graphs.values() for n in all_nodes(g.graph)} & INT8_COMPUTE
    if int8_ops:
        raise RebuildError(f"this bundle has int8 computation ({', '.join(sorted(int8_ops))}): its weights exist "
                           "only as int8; rebuild from the fp32 bundle it was quantized from")
    weights, uses = {}, defaultdict(set)
    for role, model in graphs.items():
        consts = constants(model.graph)
        for name, op, index in consumers(model.graph):
            if name in consts:
                uses[name, role].add((op, index))
                weights[name, role] = consts[name]
    params = place(weights, uses)
    cfg = infer_config(params, graphs, m)
    config = AutoConfig.for_model("bart", **cfg)
    model = AutoModelForSeq2SeqLM.from_config(config).eval()
    load_weights(model, params, torch)
    worst = validate(bundle_dir, model, torch)
    if worst > ATOL:
        raise RebuildError(f"the rebuilt model's log-probs differ from the bundle's by {worst:.2e} (> {ATOL})")
    model.generation_config.forced_bos_token_id = None
    model.generation_config.forced_eos_token_id = None
    with tempfile.TemporaryDirectory(prefix="quals-rebuild-") as tmp:
        stage = Path(tmp)
        model.save_pretrained(stage)
        tokenizer(bundle.file("tokenizer"), m).save_pretrained(stage)
        report = {"bundle_sha256": bundle.digest, "max_abs_logprob_diff": worst, "parameters": len(params),
                  "note": "weights are the fp32 values of what the bundle stores (rounded where it is compact)"}
        (stage / REPORT).write_text(json.dumps(report, indent=2) + "\n")
        replace_files(stage, out)
    return out


# -- reading the graphs ------------------------------------------------------------------------------
def constants(g: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Initializers, plus what the constant-only nodes compute from them (the bundle's fp16/int8 restore
    nodes, the tied head's Transpose, a merged decoder's Identity links), evaluated as ONNX defines them."""
    values: dict[str, np.ndarray] = {}
    for sub in graphs_of(g):  # a merged decoder's branches reach the shared tensors through Identity nodes
        for t in sub.initializer:
            value = numpy_helper.to_array(t)
            if t.name in values and not np.array_equal(values[t.name], value):
                raise RebuildError(f"initializer {t.name!r} has two values in one graph")
            values[t.name] = value
        for node in sub.node:
            if node.op_type == "Constant":
                values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            elif node.op_type == "Identity" and node.input[0] in values:
                values[node.output[0]] = values[node.input[0]]
            elif node.op_type in FOLDABLE and all(i in values for i in node.input if i):
                values.update(zip(node.output, _evaluate(node, values)))
    return values


def _evaluate(node: onnx.NodeProto, values: dict[str, np.ndarray]) -> list[np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    names = [i for i in node.input if i]
    inputs = [onnx.helper.make_tensor_value_info(i, onnx.TensorProto.UNDEFINED, None) for i in names]
    outputs = [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in node.output]
    sub = onnx.helper.make_model(onnx.helper.make_graph([node], "fold", inputs, outputs))
    return ReferenceEvaluator(sub).run(None, {i: values[i] for i in names})


def consumers(g: onnx.GraphProto):
    """(tensor name, (op type, node name), input index) for every node of `g` and of its subgraphs."""
    for node in all_nodes(g):
        for i, name in enumerate(node.input):
            yield name, (node.op_type, node.name), i


def module_path(node_name: str, role: str) -> str:
    """'/model/decoder/layers.0/fc1/MatMul' -> 'model.decoder.layers.0.fc1'; the encoder graph is the
    encoder module alone, so its paths get the 'model.encoder.' prefix."""
    parts = node_name.strip("/").split("/")[:-1]
    path = ".".join(parts)
    if role == "encoder" and path and not path.startswith("model."):
        path = "model.encoder." + path
    return path


def place(weights: dict, uses: dict) -> dict[str, np.ndarray]:
    """Hugging Face parameter name -> fp32 value, from how each constant is consumed."""
    params: dict[str, np.ndarray] = {}

    def put(name: str, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=np.float32)
        if name in params and not np.array_equal(params[name], value):
            raise RebuildError(f"{name}: two different values in the bundle")
        params[name] = value

    for (tensor, role), how in uses.items():
        value = weights[tensor, role]
        if value.dtype.kind != "f" or value.size < 2:
            continue  # shapes, axes, scalars of the graph's own arithmetic
        for (op, node), index in how:
            path = module_path(node, role)
            if op == "MatMul" and index == 1 and value.ndim == 2:
                put(f"{path}.weight", value.T)
            elif op == "Add" and path.endswith(("proj", "fc1", "fc2", "dense")) and value.ndim == 1:
                put(f"{path}.bias", value)
            elif op == "Add" and path == "" and value.ndim == 2 and value.shape[0] == 1:
                put("final_logits_bias", value)
            elif op == "LayerNormalization" and index in (1, 2):
                put(f"{path}.{'weight' if index == 1 else 'bias'}", value)
            elif op == "Gather" and index == 0 and value.ndim == 2:
                put("model.shared.weight" if path.endswith("embed_tokens") else f"{path}.weight", value)
    return params


def infer_config(params: dict[str, np.ndarray], graphs: dict[str, onnx.ModelProto], m) -> dict:
    """The BartConfig fields the computation depends on, read off the weights and the graphs."""
    def count(prefix: str) -> int:
        found = {int(k.split(".")[3]) for k in params if k.startswith(prefix)}
        if found != set(range(len(found))):
            raise RebuildError(f"{prefix}*: layers {sorted(found)} are not 0..n-1")
        return len(found)

    shared = params.get("model.shared.weight")
    if shared is None:
        raise RebuildError("no token embedding found in the bundle's graphs")
    vocab, d_model = shared.shape
    positions = params["model.encoder.embed_positions.weight"].shape[0]
    ops = {n.op_type for g in graphs.values() for n in all_nodes(g.graph) if "/activation_fn/" in n.name}
    activation = next((name for needs, name in ACTIVATIONS if needs <= ops), None)
    if activation is None:
        raise RebuildError(f"activation with operators {sorted(ops)} is not one this rebuild knows")
    scale = embed_scale(graphs)
    if not (math.isclose(scale, 1.0, rel_tol=1e-6) or math.isclose(scale, math.sqrt(d_model), rel_tol=1e-6)):
        raise RebuildError(f"embedding scale {scale} is neither 1 nor sqrt(d_model)")
    eps = {a.f for g in graphs.values() for n in all_nodes(g.graph) if n.op_type == "LayerNormalization"
           for a in n.attribute if a.name == "epsilon"}
    if eps and not all(math.isclose(e, 1e-5, rel_tol=1e-3) for e in eps):
        raise RebuildError(f"LayerNorm epsilon {sorted(eps)}: BART's is 1e-5")
    t = m.tokens
    return dict(
        vocab_size=int(vocab), d_model=int(d_model),
        encoder_layers=count("model.encoder.layers."), decoder_layers=count("model.decoder.layers."),
        encoder_attention_heads=m.onnx.num_heads, decoder_attention_heads=m.onnx.num_heads,
        encoder_ffn_dim=int(params["model.encoder.layers.0.fc1.weight"].shape[0]),
        decoder_ffn_dim=int(params["model.decoder.layers.0.fc1.weight"].shape[0]),
        max_position_embeddings=int(positions) - 2, activation_function=activation,
        scale_embedding=not math.isclose(scale, 1.0, rel_tol=1e-6),
        pad_token_id=t.pad, bos_token_id=t.bos if t.bos is not None else t.pad, eos_token_id=t.eos,
        decoder_start_token_id=t.decoder_start, forced_bos_token_id=None, forced_eos_token_id=None,
        tie_word_embeddings=True, dropout=0.1, attention_dropout=0.0, activation_dropout=0.0,
    )


def embed_scale(graphs: dict[str, onnx.ModelProto]) -> float:
    """The constant the token embedding is multiplied by (1.0 when the model does not scale it)."""
    found = set()
    for g in graphs.values():
        consts = {n.output[0]: float(numpy_helper.to_array(n.attribute[0].t).ravel()[0])
                  for n in all_nodes(g.graph) if n.op_type == "Constant" and re.search(r"embed_tokens/", n.name)}
        for n in all_nodes(g.graph):
            if n.op_type == "Mul" and re.search(r"embed_tokens/Mul", n.name):
                found.update(consts[i] for i in n.input if i in consts)
    if len(found) > 1:
        raise RebuildError(f"the encoder and decoder scale their embeddings differently: {sorted(found)}")
    return found.pop() if found else 1.0


def load_weights(model, params: dict[str, np.ndarray], torch) -> None:
    """Fill every parameter and buffer the model's state dict has; the tied ones must equal the shared table."""
    state = model.state_dict()
    shared = params["model.shared.weight"]
    for name in TIED:
        if name in params and not np.array_equal(params[name], shared):
            raise RebuildError(f"{name} is not tied to the token embedding (untied heads are not supported)")
    missing = [k for k in state if k not in params and k not in TIED]
    extra = [k for k in params if k not in state]
    if missing or extra:
        raise RebuildError(f"weights do not fit a BART model: missing {missing[:5]}, unplaced {extra[:5]}")
    with torch.no_grad():
        for k, v in params.items():
            if tuple(state[k].shape) != v.shape:
                raise RebuildError(f"{k}: shape {v.shape} in the bundle, {tuple(state[k].shape)} in the model")
            state[k].copy_(torch.from_numpy(np.array(v, copy=True)))
    model.tie_weights()


def tokenizer(path: Path, m):
    """The bundle's tokenizer.json as a transformers fast tokenizer with the manifest's special tokens; the QA
    separator is its sep_token, which is where `quals export` looks first (a rebuilt checkpoint re-exports
    to the same manifest)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer.from_file(str(path))
    name = backend.id_to_token
    t = m.tokens
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token=name(t.eos), pad_token=name(t.pad),
        bos_token=name(t.bos) if t.bos is not None else None, unk_token=name(t.unk) if t.unk is not None else None,
        sep_token=m.separator.text, additional_special_tokens=[m.separator.text],
        model_input_names=["input_ids", "attention_mask"],
    )
    if tok.convert_tokens_to_ids(m.separator.text) != m.separator.id:
        raise RebuildError(f"the separator {m.separator.text!r} does not keep id {m.separator.id}")
    return tok
