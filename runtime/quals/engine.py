"""ONNX Runtime sessions and the two decoder passes QUALS needs.

* `DecoderState.step`: one incremental decoding step with the KV cache, for the searches. The encoder
  output and the cross-attention KV are computed once and reused by every step and every beam; beams
  reorder only the decoder (self-attention) KV.
* `Engine.teacher_forced`: per-token log-probs of whole target sequences in one batched pass, for
  rescoring QA pairs against a source.

Works with Optimum's merged decoder (`decoder_model_merged.onnx`, `use_cache_branch` switch) or with the
split pair (`decoder_model.onnx` for the first step, `decoder_with_past_model.onnx` after).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from .bundle import Bundle
from .errors import BundleError, ProviderError
from .rowwise import RowThreads

log = logging.getLogger("quals.engine")

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
SPIN = "session.intra_op.allow_spinning"  # ONNX Runtime's session config key
LOGITS_BUDGET = 8 << 20  # logits per teacher-forcing pass (32 MB of float32): bounds peak memory


def moved_rows(rows: np.ndarray, held: int) -> np.ndarray | None:
    """The rows that `rows` moves, when a KV cache of `held` rows can be reordered in place by copying only
    them (a search mostly extends each row's own prefix); None when a full gather is cheaper."""
    if rows.shape[0] != held:
        return None
    moved = np.flatnonzero(rows != np.arange(held))
    return moved if moved.size * 2 <= held else None


def gather_rows(a: np.ndarray, rows: np.ndarray, moved: np.ndarray | None) -> np.ndarray:
    """a[rows] for a KV cache (R, ...), in place when `moved` (from moved_rows) says so: `a` must then be an
    array the caller owns and will not read again (a previous call's present output)."""
    if moved is None:
        return a[rows]
    if moved.size:
        a[moved] = a[rows[moved]]  # the right side is gathered into a copy before the write
    return a


SessionOptionsHook = Callable[[ort.SessionOptions], None]


def make_session(path, provider: str, allow_fallback: bool, threads: int | None,
                 fallbacks: list[str] | None = None,
                 session_options: SessionOptionsHook | None = None) -> ort.InferenceSession:
    """An ONNX Runtime session on `provider`. An allowed fallback to CPU is appended to `fallbacks` (for the
    caller to report once for all of a model's sessions), or logged when no list is given.
    `session_options` may change the SessionOptions last, before the session is made (benchmarks and
    tests: graph optimization level, profiling...)."""
    def fell_back(message: str) -> None:
        if fallbacks is None:
            log.warning("%s", message)
        elif message not in fallbacks:
            fallbacks.append(message)

    if provider not in PROVIDERS:
        raise ProviderError(f"unknown provider {provider!r}; choose one of {sorted(PROVIDERS)}")
    wanted = PROVIDERS[provider]
    available = ort.get_available_providers()
    if wanted not in available:
        if not allow_fallback:
            raise ProviderError(
                f"{wanted} is not available in this onnxruntime (available: {', '.join(available)}); "
                "install onnxruntime-gpu with CUDA, or allow the CPU fallback"
            )
        fell_back(f"{wanted} not available; falling back to CPU as allowed")
        wanted = PROVIDERS["cpu"]
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # The CPU arena keeps the largest buffers ever requested (shapes change every step and every text),
    # so RSS only grows: without it peak RSS drops by ~60 MB (int8 default, 60 beams) at no measurable cost.
    opts.enable_cpu_mem_arena = False
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    if session_options is not None:
        session_options(opts)
    # ONNX Runtime's pool threads spin for a while after every call, waiting for the next; between the calls of
    # a search, the numpy work (log-softmax, top-k) needs those cores, so they wait instead: 0.93x the time per
    # summary on 2 vCPUs at the authors' settings (docs/performance.md), unless `session_options` chose.
    try:
        opts.get_session_config_entry(SPIN)
    except RuntimeError:  # not set by the caller
        opts.add_session_config_entry(SPIN, "0")
    providers = [wanted] if wanted == PROVIDERS["cpu"] else [wanted, PROVIDERS["cpu"]]
    try:
        sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime's own exception types live in a private module
        raise BundleError(
            f"{path.name}: onnxruntime {ort.__version__} cannot load it ({type(exc).__name__}: {exc}). "
            "Bundles quantised with weight-int8 need onnxruntime >= 1.22."
        ) from exc
    if sess.get_providers()[0] != wanted:
        # onnxruntime-gpu without working CUDA libraries silently runs on CPU: say so, or refuse.
        if not allow_fallback:
            raise ProviderError(
                f"{wanted} could not be initialised for {path.name} (got {sess.get_providers()}); "
                "check the CUDA/cuDNN installation, or allow the CPU fallback"
            )
        fell_back(f"{wanted} failed to initialise; running on {sess.get_providers()[0]} as allowed")
    return sess


@dataclass(frozen=True)
class EncoderOutput:
    """One encoded source: hidden (1, S, d) float32, mask (1, S) int64."""

    hidden: np.ndarray
    mask: np.ndarray

    @property
    def length(self) -> int:
        return self.hidden.shape[1]


class Engine:
    def __init__(
        self, bundle: Bundle, provider: str = "cpu", *, allow_fallback: bool = False, threads: int | None = None,
        session_options: SessionOptionsHook | None = None,
    ):
        m = bundle.manifest
        self.manifest = m
        self.layers = m.onnx.num_layers
        fallbacks: list[str] = []

        def session(role: str) -> ort.InferenceSession:
            return make_session(bundle.file(role), provider, allow_fallback, threads, fallbacks, session_options)

        self.encoder = session("encoder")
        if m.decoder_layout == "merged":
            self.decoder = session("decoder_merged")
            self.decoder_past = self.decoder
        else:
            self.decoder = session("decoder")
            self.decoder_past = session("decoder_with_past")
        for message in fallbacks:  # once per model, not once per session
            log.warning("%s", message)
        self.provider = self.encoder.get_providers()[0]
        self.merged = m.decoder_layout == "merged"  # one graph for both passes (Optimum's use_cache_branch)
        self._dec_inputs = {i.name for i in self.decoder.get_inputs()}
        self._past_inputs = {i.name for i in self.decoder_past.get_inputs()}
        self._dec_outputs = [o.name for o in self.decoder.get_outputs()]
        self._past_outputs = [o.name for o in self.decoder_past.get_outputs()]
        self.n_heads = m.onnx.num_heads
        self.rows = RowThreads(threads)  # the log-softmax between calls, on the threads ONNX Runtime has
        self.head_dim = m.onnx.head_dim
        # Whether the decoder broadcasts a one-row cross-attention KV over the rows: unknown (None) until
        # the first incremental step of a search compares it with the expanded KV (run_past_shared_cross);
        # set it to False to always expand (the tests compare both paths).
        self.broadcasts_cross_kv: bool | None = None
        self._kv_names = {side: tuple((self.past_name(layer, side, kv), self.present_name(layer, side, kv))
                                      for layer in range(self.layers) for kv in ("key", "value"))
                          for side in ("decoder", "encoder")}

    def run_session(self, session: ort.InferenceSession, names: list[str], feeds: dict[str, np.ndarray]) -> list:
        """Every ONNX Runtime call of the engine goes through here: a seam where a subclass may time or count
        the calls (scripts/bench.py meters the decoder's)."""
        return session.run(names, feeds)

    # -- names -------------------------------------------------------------------------------------
    def past_name(self, layer: int, side: str, kv: str) -> str:
        """The decoder input holding layer `layer`'s past `kv` ("key"/"value") of `side` ("decoder"/"encoder")."""
        return self.manifest.onnx.past_input.format(layer=layer, side=side, kv=kv)

    def present_name(self, layer: int, side: str, kv: str) -> str:
        """The decoder output holding the present `kv` that past_name(layer, side, kv) takes next step."""
        return self.manifest.onnx.present_output.format(layer=layer, side=side, kv=kv)

    def kv_names(self, side: str) -> tuple[tuple[str, str], ...]:
        """(past input, present output) of every layer's key and value of `side`, in layer order (made once: every
        decoding step reads them)."""
        return self._kv_names[side]

    # -- encoder -----------------------------------------------------------------------------------
    def encode(self, ids) -> EncoderOutput:
        input_ids = np.asarray([ids], dtype=np.int64)
        mask = np.ones_like(input_ids)
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        (hidden,) = self.run_session(self.encoder, ["last_hidden_state"], feeds)
        return EncoderOutput(hidden, mask)

    # -- decoder, first pass (no past) -------------------------------------------------------------
    def run_full(
        self, enc: EncoderOutput, input_ids: np.ndarray, outputs: list[str] | None = None
    ) -> dict[str, np.ndarray]:
        """Decoder over whole prefixes (n, T) with no past: `outputs` (default: logits and every present)."""
        n = input_ids.shape[0]
        feeds = {
            "input_ids": input_ids.astype(np.int64, copy=False),
            "encoder_hidden_states": np.broadcast_to(enc.hidden, (n,) + enc.hidden.shape[1:]),
            "encoder_attention_mask": np.broadcast_to(enc.mask, (n, enc.length)),
        }
        if self.merged:
            empty = np.zeros((n, self.n_heads, 0, self.head_dim), dtype=np.float32)
            for layer in range(self.layers):
                for side in ("decoder", "encoder"):
                    for kv in ("key", "value"):
                        feeds[self.past_name(layer, side, kv)] = empty
            feeds[self.manifest.onnx.use_cache_branch] = np.zeros(1, dtype=bool)
        feeds = {k: np.ascontiguousarray(v) for k, v in feeds.items() if k in self._dec_inputs}
        names = outputs or self._dec_outputs
        return dict(zip(names, self.run_session(self.decoder, names, feeds)))

    def teacher_forced(
        self, enc: EncoderOutput, targets, *, max_rows: int = 64, max_logits: int = LOGITS_BUDGET
    ) -> list[np.ndarray]:
        """Per-token log p(target_t | target_<t, source) for each target, in one pass per chunk of rows.

        targets: sequences of ids as the search produced them (ending in EOS when they ended); the decoder
        input is `[decoder_start] + target[:-1]`. Returns one float32 array (len(target),) per target.
        A chunk has at most `max_rows` rows and at most `max_logits` logits (rows x width x vocab), since
        the logits dominate peak memory. Right padding is safe: the decoder is causal and has no padding
        mask of its own.
        """
        out: list[np.ndarray] = []
        start, pad = self.manifest.tokens.decoder_start, self.manifest.tokens.pad
        targets = [list(t) for t in targets]
        if not targets:
            return out
        width = max(len(t) for t in targets)
        rows = max(1, min(max_rows, max_logits // (width * self.manifest.onnx.vocab_size)))
        for lo in range(0, len(targets), rows):
            chunk = targets[lo : lo + rows]
            width = max(len(t) for t in chunk)
            inp = np.full((len(chunk), width), pad, dtype=np.int64)
            tgt = np.full((len(chunk), width), pad, dtype=np.int64)
            for i, t in enumerate(chunk):
                inp[i, : len(t)] = [start] + t[:-1]
                tgt[i, : len(t)] = t
            picked = self.rows.pick_log_probs(self.run_full(enc, inp, ["logits"])["logits"], tgt)
            out.extend(picked[i, : len(t)].copy() for i, t in enumerate(chunk))
        return out

    def run_past(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One incremental decoder call: every output of the with-past graph by name."""
        feeds = {k: v for k, v in feeds.items() if k in self._past_inputs}
        return dict(zip(self._past_outputs, self.run_session(self.decoder_past, self._past_outputs, feeds)))

    def run_past_shared_cross(self, feeds: dict[str, np.ndarray], cross_kv: dict[str, np.ndarray],
                              n: int) -> dict[str, np.ndarray] | None:
        """One incremental call of `n` rows whose cross-attention KV (`cross_kv`, one row: one source) is the
        same for every row, fed as one row where the graph broadcasts it; None where it does not (the caller
        expands the KV to the rows). Whether it broadcasts is checked on the first call (the same outputs, bit
        for bit, as with the KV expanded) and remembered for the engine's life."""
        if self.broadcasts_cross_kv is False:
            return None
        one = {**feeds, **cross_kv}
        if self.broadcasts_cross_kv:
            return self.run_past(one)
        expanded = self.run_past({**feeds, **{k: np.ascontiguousarray(v[np.zeros(n, dtype=np.int64)])
                                              for k, v in cross_kv.items()}})
        try:
            got = self.run_past(one)
            self.broadcasts_cross_kv = all(np.array_equal(got[k], expanded[k]) for k in expanded
                                            if ".encoder." not in k)
        except Exception:  # noqa: BLE001 - a graph that cannot broadcast: expand, as before
            self.broadcasts_cross_kv = False
        return expanded if self.broadcasts_cross_kv else None

    def start(self, enc: EncoderOutput, n_rows: int) -> DecoderState:
        return DecoderState(self, enc, n_rows)


class DecoderState:
    """Incremental decoding of `n_rows` prefixes over one encoded source (a search's step function).

    The first call takes the decoder start token in every row and `parents=None`; each later call takes
    the token just appended to each row and `parents[i]`, the row of the previous call that row i extends.
    """

    def __init__(self, engine: Engine, enc: EncoderOutput, n_rows: int):
        self.engine = engine
        self.enc = enc
        self.n = n_rows
        self.self_kv: dict[str, np.ndarray] | None = None  # past input name -> (held, H, t, Dh)
        self.cross_kv: dict[str, np.ndarray] = {}  # past input name -> (held, H, S, Dh)
        self.held = 0  # rows of the KV: n, or 1 when one row stands for all (a first step of identical rows)
        self.steps = 0

    def _run_past(self, feeds: dict[str, np.ndarray], rows: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """One decoder call with past. The cross-attention KV is the same for every row (one source), so it
        is fed with one row where the graph broadcasts it (checked once per engine: the same outputs, bit
        for bit, as with a row per row); else it is expanded to the rows once and kept."""
        e = self.engine
        cross_rows = next(iter(self.cross_kv.values())).shape[0]
        if cross_rows == 1 and n > 1:
            outs = e.run_past_shared_cross(feeds, self.cross_kv, n)
            if outs is not None:
                return outs
        if cross_rows != n:  # rows pruned, added or expanded from the one held row: the cross KV follows
            index = rows if cross_rows == self.n and self.held == self.n else np.zeros(n, dtype=np.int64)
            self.cross_kv = {k: np.ascontiguousarray(v[index]) for k, v in self.cross_kv.items()}
        return e.run_past({**feeds, **self.cross_kv})

    def __call__(self, tokens: np.ndarray, parents: np.ndarray | None) -> np.ndarray:
        """tokens: (n,) int; parents: (n,) int or None. Returns log-probs (n, V) float32."""
        e = self.engine
        tokens = np.asarray(tokens, dtype=np.int64).reshape(-1, 1)
        n = tokens.shape[0]
        shared = False
        if self.self_kv is None:
            # Every search starts all rows from the decoder start token: identical rows give identical
            # outputs, so one row is run (a sixth of the time at 60 beams; bitwise the same numbers) and its
            # KV stands for all rows until the first gather below.
            shared = n > 1 and bool((tokens == tokens[0]).all())
            outs = e.run_full(self.enc, tokens[:1] if shared else tokens)
            self.cross_kv = {past: outs[present] for past, present in e.kv_names("encoder")}
        else:
            if parents is None:
                raise ValueError("parents are required after the first step")
            parents = np.asarray(parents, dtype=np.int64)
            rows = parents if self.held == self.n else np.zeros(n, dtype=np.int64)  # one held row is every row
            moved = moved_rows(rows, self.held)  # once per step, for every layer's K and V
            feeds = {k: gather_rows(v, rows, moved) for k, v in self.self_kv.items()}
            feeds["input_ids"] = tokens
            feeds["encoder_attention_mask"] = np.ascontiguousarray(np.broadcast_to(self.enc.mask, (n, self.enc.length)))
            if e.merged:
                feeds["encoder_hidden_states"] = np.zeros((n, 1, self.enc.hidden.shape[2]), dtype=np.float32)
                feeds[e.manifest.onnx.use_cache_branch] = np.ones(1, dtype=bool)
            outs = self._run_past(feeds, rows, n)
        self.self_kv = {past: outs[present] for past, present in e.kv_names("decoder")}
        self.n = n
        self.held = 1 if shared else n
        self.steps += 1
        logp = self.engine.rows.log_softmax(outs["logits"][:, -1, :])  # a fresh output of this call: ours to overwrite
        return np.repeat(logp, n, axis=0) if shared else logp  # a writable row per row: searches edit them
