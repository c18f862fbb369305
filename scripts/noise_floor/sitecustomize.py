"""`make evaluate-noise-floor` only, never part of quals: with QUALS_NOISE_OPT=basic, every ONNX Runtime session
of this Python (and of the worker processes it spawns, which inherit PYTHONPATH) runs with basic graph
optimizations: the same fp32 model without the fused LayerNorm/GELU/attention kernels, so the same numbers up
to float rounding (|d log p| <= 5e-6 on the default model). Evaluating that shows how far ROC-AUC moves from
rounding alone: the scale against which a quantised bundle's loss is read.
"""

import os

if os.environ.get("QUALS_NOISE_OPT") == "basic":
    import onnxruntime as ort

    _Session = ort.InferenceSession

    class _BasicOptimizations(_Session):
        def __init__(self, path_or_bytes, sess_options=None, providers=None, **kw):
            if sess_options is not None:
                sess_options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
            super().__init__(path_or_bytes, sess_options=sess_options, providers=providers, **kw)

    ort.InferenceSession = _BasicOptimizations
