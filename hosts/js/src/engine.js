// ONNX Runtime sessions and the two decoder passes QUALS needs (docs/hosts.md §2; Python: quals.engine).
//
// * DecoderState: one incremental decoding step with the KV cache, for the searches. The cross-attention KV
//   is computed once per source; beams reorder only the self-attention KV.
// * Engine.teacherForced: per-token log-probs of whole target sequences, in batched passes, for rescoring.
//
// The `ort` module is passed in: onnxruntime-node in Node, onnxruntime-web in a browser (same API).
import { BundleError } from "./errors.js";

export const LOGITS_BUDGET = 8 << 20; // logits per teacher-forcing pass: bounds peak memory, as Python

const f32 = Math.fround;

// exp(-i/256) for i = 0..110 x 256: exp(v) = EXP_TABLE[i] x exp(d), |d| <= 1/512, for the sums below (relative
// error ~1e-15, as Math.exp, at a third of its cost). Below -110, exp(v) < 2e-48: nothing next to the max's 1.
const EXP_TABLE = Float64Array.from({ length: 110 * 256 + 1 }, (_, i) => Math.exp(-i / 256));

/** Σ exp(f32(x_i - max)) over x[offset : offset + n], in float64. */
function sumExpShifted(x, offset, n, max) {
  let sum = 0;
  for (let i = offset, end = offset + n; i < end; i++) {
    const v = f32(x[i] - max);
    if (v > -110) {
      const j = (-v * 256 + 0.5) | 0;
      const d = v + j / 256;
      sum += EXP_TABLE[j] * (1 + d * (1 + d * (0.5 + d * (1 / 6 + d * (1 / 24)))));
    }
  }
  return sum;
}

function rowMax(x, offset, n) {
  let max = -Infinity;
  for (let i = offset, end = offset + n; i < end; i++) if (x[i] > max) max = x[i];
  return max;
}

/**
 * float32 log-softmax of one row, in place: x - max - log Σ exp(x - max), as numpy computes it in float32
 * (the subtraction and the final value rounded to float32; the sum taken in float64, its log rounded to float32).
 */
export function logSoftmaxRow(x, offset, n) {
  const max = rowMax(x, offset, n);
  const lse = f32(Math.log(sumExpShifted(x, offset, n, max)));
  for (let i = offset, end = offset + n; i < end; i++) x[i] = f32(x[i] - max) - lse; // the Float32Array store rounds
}

/** log_softmax(x[offset : offset + n])[target], without writing to x. */
export function pickLogProb(x, offset, n, target) {
  const max = rowMax(x, offset, n);
  return f32(f32(x[offset + target] - max) - f32(Math.log(sumExpShifted(x, offset, n, max))));
}

/** Rows `rows` of a (R, ...) float32 array whose rows hold `size` values each. */
function gatherRows(data, size, rows) {
  const out = new Float32Array(rows.length * size);
  for (let i = 0; i < rows.length; i++) out.set(data.subarray(rows[i] * size, (rows[i] + 1) * size), i * size);
  return out;
}

function repeatRow(data, n) {
  const out = new Float32Array(data.length * n);
  for (let i = 0; i < n; i++) out.set(data, i * data.length);
  return out;
}

function int64(values) {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]);
  return out;
}

function sameData(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** One encoded source: hidden (1, S, d) float32. */
export class EncoderOutput {
  constructor(hidden, length, width) {
    this.hidden = hidden;
    this.length = length;
    this.width = width;
  }
}

export class Engine {
  /** sessions: {encoder, decoder, decoderPast} ONNX Runtime InferenceSessions (decoderPast = decoder when merged). */
  constructor(ort, manifest, sessions) {
    this.ort = ort;
    this.manifest = manifest;
    this.encoder = sessions.encoder;
    this.decoder = sessions.decoder;
    this.decoderPast = sessions.decoderPast;
    this.merged = manifest.decoder_layout === "merged";
    this.layers = manifest.onnx.num_layers;
    this.nHeads = manifest.onnx.num_heads;
    this.headDim = manifest.onnx.head_dim;
    this.vocab = manifest.onnx.vocab_size;
    this.decInputs = new Set(this.decoder.inputNames);
    this.pastInputs = new Set(this.decoderPast.inputNames);
    this.decOutputs = [...this.decoder.outputNames];
    this.pastOutputs = [...this.decoderPast.outputNames];
    // Whether the decoder broadcasts a one-row cross-attention KV over the rows: unknown (null) until the
    // first incremental step compares it, bit for bit, with the expanded KV (as Python does).
    this.broadcastsCrossKv = null;
  }

  /**
   * Session options as the Python runtime sets them: graph optimizations on, no CPU arena, one inter-op thread,
   * and pool threads that wait between calls instead of spinning (a search calls the decoder 40-60 times per text
   * and does its own work in between, which a spinning thread keeps from the core it needs: docs/performance.md).
   */
  static sessionOptions(threads, executionProviders) {
    const opts = {
      graphOptimizationLevel: "all", logSeverityLevel: 3, enableCpuMemArena: false, executionProviders,
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    };
    if (threads) {
      opts.intraOpNumThreads = threads;
      opts.interOpNumThreads = 1;
    }
    return opts;
  }

  static async create(ort, bundle, { threads = null, executionProviders = ["cpu"], modelSource }) {
    const m = bundle.manifest;
    const options = Engine.sessionOptions(threads, executionProviders);
    const session = async (role) => {
      const { source, extra } = await modelSource(role);
      try {
        return await ort.InferenceSession.create(source, { ...options, ...extra });
      } catch (exc) {
        throw new BundleError(`${bundle.name(role)}: ONNX Runtime cannot load it (${exc.message ?? exc})`);
      }
    };
    const encoder = await session("encoder");
    let decoder, decoderPast;
    if (m.decoder_layout === "merged") {
      decoder = decoderPast = await session("decoder_merged");
    } else {
      decoder = await session("decoder");
      decoderPast = await session("decoder_with_past");
    }
    return new Engine(ort, m, { encoder, decoder, decoderPast });
  }

  async release() {
    for (const s of new Set([this.encoder, this.decoder, this.decoderPast])) await s.release?.();
  }

  past(layer, side, kv) {
    return this.manifest.onnx.past_input.replace("{layer}", layer).replace("{side}", side).replace("{kv}", kv);
  }

  present(layer, side, kv) {
    return this.manifest.onnx.present_output.replace("{layer}", layer).replace("{side}", side).replace("{kv}", kv);
  }

  tensor(type, data, dims) {
    return new this.ort.Tensor(type, data, dims);
  }

  // -- encoder ------------------------------------------------------------------------------------
  async encode(ids) {
    const n = ids.length;
    const feeds = {
      input_ids: this.tensor("int64", int64(ids), [1, n]),
      attention_mask: this.tensor("int64", new BigInt64Array(n).fill(1n), [1, n]),
    };
    const out = await this.encoder.run(feeds, ["last_hidden_state"]);
    const h = out.last_hidden_state;
    return new EncoderOutput(h.data, h.dims[1], h.dims[2]);
  }

  encoderMask(n, enc) {
    return this.tensor("int64", new BigInt64Array(n * enc.length).fill(1n), [n, enc.length]);
  }

  // -- decoder, first pass (no past) ----------------------------------------------------------------
  /** The decoder over whole prefixes (n, T) with no past; inputIds: flat int ids, row-major. */
  async runFull(enc, inputIds, n, T, outputs = null) {
    const feeds = {
      input_ids: this.tensor("int64", int64(inputIds), [n, T]),
      encoder_hidden_states: this.tensor("float32", n === 1 ? enc.hidden : repeatRow(enc.hidden, n), [n, enc.length, enc.width]),
      encoder_attention_mask: this.encoderMask(n, enc),
    };
    if (this.merged) {
      const empty = this.tensor("float32", new Float32Array(0), [n, this.nHeads, 0, this.headDim]);
      for (let layer = 0; layer < this.layers; layer++) {
        for (const side of ["decoder", "encoder"]) for (const kv of ["key", "value"]) feeds[this.past(layer, side, kv)] = empty;
      }
      feeds[this.manifest.onnx.use_cache_branch] = this.tensor("bool", new Uint8Array([0]), [1]);
    }
    return this.decoder.run(this.declared(feeds, this.decInputs), outputs ?? this.decOutputs);
  }

  declared(feeds, names) {
    const out = {};
    for (const [k, v] of Object.entries(feeds)) if (names.has(k)) out[k] = v;
    return out;
  }

  /**
   * Per-token log p(target_t | target_<t, source) of each target (docs/hosts.md §4.6): decoder input
   * [decoder_start] + target[:-1], chunks of R = max(1, min(maxRows, LOGITS_BUDGET // (W x vocab))) targets,
   * each right-padded with pad to its own longest target. Returns one Float32Array per target.
   */
  async teacherForced(enc, targets, { maxRows = 64 } = {}) {
    const out = [];
    if (targets.length === 0) return out;
    const { decoder_start: start, pad } = this.manifest.tokens;
    const V = this.vocab;
    const widest = Math.max(...targets.map((t) => t.length));
    const rows = Math.max(1, Math.min(maxRows, Math.floor(LOGITS_BUDGET / (widest * V))));
    for (let lo = 0; lo < targets.length; lo += rows) {
      const chunk = targets.slice(lo, lo + rows);
      const W = Math.max(...chunk.map((t) => t.length));
      const inp = new Array(chunk.length * W).fill(pad);
      chunk.forEach((t, i) => {
        inp[i * W] = start;
        for (let j = 1; j < t.length; j++) inp[i * W + j] = t[j - 1];
      });
      const { logits } = await this.runFull(enc, inp, chunk.length, W, ["logits"]);
      const x = logits.data;
      chunk.forEach((t, i) => {
        const lp = new Float32Array(t.length);
        for (let j = 0; j < t.length; j++) lp[j] = pickLogProb(x, (i * W + j) * V, V, t[j]);
        out.push(lp);
      });
    }
    return out;
  }

  async runPast(feeds) {
    return this.decoderPast.run(this.declared(feeds, this.pastInputs), this.pastOutputs);
  }

  start(enc, nRows) {
    return new DecoderState(this, enc, nRows);
  }
}

/**
 * Incremental decoding of n rows over one encoded source: a search's step function. The first call takes the
 * decoder start token in every row and parents = null; each later call takes the token just appended to each
 * row and parents[i], the row of the previous call that row i extends.
 */
export class DecoderState {
  constructor(engine, enc, nRows) {
    this.engine = engine;
    this.enc = enc;
    this.n = nRows;
    this.selfKv = null; // past input name -> {data, dims} with `held` rows
    this.crossKv = null; // past input name -> {data, dims} with one row (identical for every row: one source)
    this.crossExpanded = null; // {n, feeds}: the cross KV expanded to n rows, when the graph does not broadcast
    this.held = 0; // rows of the self KV: n, or 1 when one row stands for all (a first step of identical rows)
    this.steps = 0;
  }

  crossFeeds(n) {
    const e = this.engine;
    const feeds = {};
    for (const [name, t] of Object.entries(this.crossKv)) {
      if (n === 1) feeds[name] = e.tensor("float32", t.data, t.dims);
      else feeds[name] = e.tensor("float32", repeatRow(t.data, n), [n, ...t.dims.slice(1)]);
    }
    return feeds;
  }

  async runPast(feeds, n) {
    const e = this.engine;
    if (n > 1 && e.broadcastsCrossKv !== false) {
      const one = { ...feeds, ...this.crossFeeds(1) };
      if (e.broadcastsCrossKv) return e.runPast(one);
      this.crossExpanded = { n, feeds: this.crossFeeds(n) };
      const expanded = await e.runPast({ ...feeds, ...this.crossExpanded.feeds });
      try {
        const got = await e.runPast(one);
        e.broadcastsCrossKv = Object.keys(expanded).every((k) => k.includes(".encoder.") || sameData(got[k].data, expanded[k].data));
      } catch {
        e.broadcastsCrossKv = false; // a graph that cannot broadcast: expand
      }
      return expanded;
    }
    if (this.crossExpanded?.n !== n) this.crossExpanded = { n, feeds: this.crossFeeds(n) };
    return e.runPast({ ...feeds, ...this.crossExpanded.feeds });
  }

  /** tokens: n ints; parents: n ints or null. Returns log-probs as a fresh Float32Array (n x V), row-major. */
  async step(tokens, parents) {
    const e = this.engine;
    const n = tokens.length;
    const V = e.vocab;
    let shared = false;
    let outs;
    if (this.selfKv === null) {
      // Every search starts all rows from the decoder start token: identical rows give identical outputs, so
      // one row is run and its KV stands for all rows until the first gather.
      shared = n > 1 && tokens.every((t) => t === tokens[0]);
      outs = await e.runFull(this.enc, shared ? [tokens[0]] : tokens, shared ? 1 : n, 1);
      const rows = shared ? 1 : n;
      this.crossKv = {};
      for (let layer = 0; layer < e.layers; layer++) {
        for (const kv of ["key", "value"]) {
          const t = outs[e.present(layer, "encoder", kv)];
          const size = t.data.length / rows; // every row holds the same cross KV: keep the first
          this.crossKv[e.past(layer, "encoder", kv)] = { data: t.data.slice(0, size), dims: [1, ...t.dims.slice(1)] };
        }
      }
    } else {
      if (parents === null || parents === undefined) throw new Error("parents are required after the first step");
      const rows = this.held === this.n ? parents : new Array(n).fill(0); // one held row is every row
      const identity = rows.length === this.held && rows.every((r, i) => r === i);
      const feeds = {};
      for (const [name, t] of Object.entries(this.selfKv)) {
        const size = t.data.length / t.dims[0];
        feeds[name] = e.tensor("float32", identity ? t.data : gatherRows(t.data, size, rows), [n, ...t.dims.slice(1)]);
      }
      feeds.input_ids = e.tensor("int64", int64(tokens), [n, 1]);
      feeds.encoder_attention_mask = e.encoderMask(n, this.enc);
      if (e.merged) {
        feeds.encoder_hidden_states = e.tensor("float32", new Float32Array(n * this.enc.width), [n, 1, this.enc.width]);
        feeds[e.manifest.onnx.use_cache_branch] = e.tensor("bool", new Uint8Array([1]), [1]);
      }
      outs = await this.runPast(feeds, n);
    }
    this.selfKv = {};
    for (let layer = 0; layer < e.layers; layer++) {
      for (const kv of ["key", "value"]) {
        const t = outs[e.present(layer, "decoder", kv)];
        this.selfKv[e.past(layer, "decoder", kv)] = { data: t.data, dims: t.dims };
      }
    }
    this.n = n;
    this.held = shared ? 1 : n;
    this.steps++;
    const logits = outs.logits;
    const T = logits.dims[1];
    const computed = logits.dims[0];
    const logp = new Float32Array(computed * V);
    for (let r = 0; r < computed; r++) {
      logp.set(logits.data.subarray((r * T + T - 1) * V, (r * T + T) * V), r * V);
      logSoftmaxRow(logp, r * V, V);
    }
    return shared ? repeatRow(logp, n) : logp;
  }
}
