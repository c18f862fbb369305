// transformers' group beam search (4.53-4.56 _group_beam_search + BeamSearchScorer), as quals.search.hf.
//
// Its quirks, kept: the Hamming penalty counts the tokens earlier groups *selected* at this step (a finished
// group's pad too); each group keeps its own num_beams/num_groups finished hypotheses, merged and sorted only
// at the end; max_length and min_length count the decoder start token, and max_length ends the search without
// forcing EOS; a group's beams start at -1e9 except the first. Scores are float32 (Math.fround) throughout.
import { Hypothesis, cumulativeToDeltas, topKFused } from "./base.js";

const f32 = Math.fround;

/** transformers' BeamHypotheses: the n best finished sequences of one group. */
class GroupHyps {
  constructor(n, opts) {
    this.n = n;
    this.opts = opts;
    this.beams = []; // [score, tokens, deltas, finished]
    this.worst = 1e9;
    this.done = false;
  }

  add(tokens, cumulative, sumLogprobs, generatedLen, finished) {
    const score = sumLogprobs / generatedLen ** this.opts.length_penalty;
    if (this.beams.length < this.n || score > this.worst) {
      this.beams.push([score, tokens, cumulativeToDeltas(cumulative), finished]);
      if (this.beams.length > this.n) {
        const ranked = this.beams.map((b, i) => [b[0], i]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(ranked[0][1], 1);
        this.worst = ranked[1][0];
      } else {
        this.worst = Math.min(score, this.worst);
      }
    }
  }

  isDone(bestSum, curLen) {
    if (this.beams.length < this.n) return false;
    const { early_stopping: es, length_penalty: lp, max_length } = this.opts;
    if (es === true) return true;
    if (es === false || lp <= 0.0) return this.worst >= bestSum / (curLen - 1) ** lp;
    return this.worst >= bestSum / (max_length - 1) ** lp;
  }
}

export async function hfGroupBeamSearch(step, opts, { decoder_start, eos, pad }) {
  const n = opts.num_beams;
  const nGroups = opts.num_groups;
  const m = n / nGroups;
  const k = 2 * m;
  const beamScores = new Float32Array(n).fill(-1e9);
  for (let r = 0; r < n; r += m) beamScores[r] = 0;
  let prefixes = Array.from({ length: n }, () => []); // generated tokens per row (decoder start excluded)
  let cumul = Array.from({ length: n }, () => []); // cumulative float32 scores after each generated token
  const groups = Array.from({ length: nGroups }, () => new GroupHyps(m, opts));
  let tokens = new Array(n).fill(decoder_start);
  let parents = null;
  let active = Array.from({ length: n }, (_, i) => i); // rows of groups not done: the only rows computed
  let curLen = 1; // transformers counts the decoder start token
  for (;;) {
    const logp = await step(active.map((r) => tokens[r]), parents);
    const vocab = logp.length / active.length;
    const position = new Int32Array(n).fill(-1); // full row -> row of this call's log-probs
    active.forEach((r, i) => (position[r] = i));
    const current = new Array(n).fill(0);
    const reorder = new Array(n).fill(0);
    const newPrefixes = new Array(n);
    const newCumul = new Array(n);
    for (let g = 0; g < nGroups; g++) {
      const hyps = groups[g];
      if (hyps.done) {
        for (let r = g * m; r < (g + 1) * m; r++) {
          beamScores[r] = 0;
          current[r] = pad;
          reorder[r] = g * m;
          newPrefixes[r] = prefixes[g * m];
          newCumul[r] = cumul[g * m];
        }
        continue;
      }
      // this group's rows: log-probs - diversity x (tokens earlier groups chose) [- inf on EOS] + beam score
      const add = new Float32Array(vocab).fill(-0);
      if (g > 0 && opts.diversity > 0) {
        const freq = new Map();
        for (let r = 0; r < g * m; r++) freq.set(current[r], (freq.get(current[r]) ?? 0) + 1);
        const div = f32(opts.diversity);
        for (const [tok, count] of freq) add[tok] = -f32(div * count);
      }
      if (curLen < opts.min_length) add[eos] = -Infinity;
      const bases = Array.from({ length: m }, (_, row) => (position[g * m] + row) * vocab);
      const adds = Array.from({ length: m }, (_, row) => beamScores[g * m + row]);
      const { indices: top, values } = topKFused(logp, bases, vocab, add, adds, k);
      const bestSum = values[0];
      let filled = 0;
      for (let rank = 0; rank < top.length; rank++) {
        const flat = top[rank];
        const parent = g * m + Math.floor(flat / vocab);
        const tok = flat % vocab;
        const value = values[rank];
        if (tok === eos) {
          if (rank >= m) continue;
          hyps.add([...prefixes[parent], eos], [...cumul[parent], value], value, prefixes[parent].length + 1, true);
        } else {
          const r = g * m + filled;
          beamScores[r] = value;
          current[r] = tok;
          reorder[r] = parent;
          newPrefixes[r] = [...prefixes[parent], tok];
          newCumul[r] = [...cumul[parent], value];
          filled++;
        }
        if (filled === m) break;
      }
      hyps.done = hyps.isDone(bestSum, curLen + 1);
    }
    prefixes = newPrefixes;
    cumul = newCumul;
    tokens = current;
    curLen++;
    if (groups.every((h) => h.done) || curLen >= opts.max_length) break;
    // A done group's rows only emit pad, which the penalty counts from `current`, not from log-probs: drop
    // them from the next step (the rows of a live group descend from rows of the same group).
    active = [];
    for (let g = 0; g < nGroups; g++) if (!groups[g].done) for (let r = g * m; r < (g + 1) * m; r++) active.push(r);
    parents = active.map((r) => position[reorder[r]]);
  }
  groups.forEach((hyps, g) => {
    if (hyps.done) return;
    for (let r = g * m; r < (g + 1) * m; r++) hyps.add(prefixes[r], cumul[r], beamScores[r], prefixes[r].length, false);
  });
  const candidates = groups.flatMap((h) => h.beams);
  const ranked = candidates.map((b, i) => [b, i]).sort((a, b) => a[0][0] - b[0][0] || a[1] - b[1]); // stable
  const out = [];
  for (let i = 0; i < Math.min(opts.returned, ranked.length); i++) {
    const [score, toks, deltas, finished] = ranked[ranked.length - 1 - i][0]; // best popped from the end
    out.push(new Hypothesis(toks, deltas, score, finished));
  }
  return out;
}
