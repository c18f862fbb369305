// fairseq 0.9's SequenceGenerator + DiverseBeamSearch (Hamming diversity), the search the QUALS authors ran,
// as quals.search.fairseq. Per step t = 0..max_length:
//
// * pad is never chosen; at t == max_length only EOS is allowed, else EOS is forbidden while t < min_length;
// * groups in order; group g's rows (g, g + G, ...) get -diversity x count[v], count[v] being how many of the
//   top-2m candidates of earlier groups had token v;
// * candidates interleaved (r-th of every group, then the (r+1)-th...); among the first num_beams, each EOS
//   with a finite score finalizes its parent + EOS until num_beams are finalized; the next slots are the
//   first num_beams other candidates in that order;
// * a finalized hypothesis's score is sum / length ** length_penalty (EOS counted), float32; the result is
//   sorted by score, descending, stable.
import { Hypothesis, cumulativeToDeltas, topKFused } from "./base.js";

const f32 = Math.fround;

export async function fairseqDiverseBeamSearch(step, opts, { decoder_start, eos, pad }) {
  const n = opts.num_beams;
  const G = opts.num_groups;
  const m = n / G;
  const penalty = f32(-opts.diversity);
  let tokens = Array.from({ length: n }, () => []); // generated tokens per slot (the start token excluded)
  let cumul = Array.from({ length: n }, () => []); // cumulative float32 score after each token
  const finalized = [];
  let last = new Array(n).fill(decoder_start);
  let parents = null;
  for (let t = 0; t <= opts.max_length; t++) {
    const logp = await step(last, parents);
    const vocab = logp.length / n;
    for (let r = 0; r < n; r++) {
      const base = r * vocab;
      logp[base + pad] = -Infinity;
      if (t >= opts.max_length) {
        const keep = logp[base + eos];
        logp.fill(-Infinity, base, base + vocab);
        logp[base + eos] = keep;
      } else if (t < opts.min_length) {
        logp[base + eos] = -Infinity;
      }
    }
    const count = new Float32Array(vocab);
    const candScore = Array.from({ length: 2 * m }, () => new Float32Array(G));
    const candToken = Array.from({ length: 2 * m }, () => new Int32Array(G));
    const candParent = Array.from({ length: 2 * m }, () => new Int32Array(G));
    const used = Array.from({ length: 2 * m }, () => new Uint8Array(G)); // filled slots (k may be < 2m)
    const rowsUsed = t === 0 ? 1 : m;
    const penalties = new Float32Array(vocab).fill(-0); // f32(-diversity x count), -0 for an unused token
    const counted = [];
    for (let g = 0; g < G; g++) {
      const rows = Array.from({ length: rowsUsed }, (_, j) => g + j * G);
      const bases = rows.map((row) => row * vocab);
      const adds = rows.map((row) => (t > 0 ? cumul[row][cumul[row].length - 1] : 0));
      if (g > 0) for (const v of counted) penalties[v] = f32(penalty * count[v]);
      const k = Math.min(2 * m, rowsUsed * vocab - 1);
      const { indices, values } = topKFused(logp, bases, vocab, g > 0 ? penalties : null, adds, k);
      for (let r = 0; r < indices.length; r++) {
        const tok = indices[r] % vocab;
        if (count[tok] === 0) counted.push(tok);
        count[tok] += 1;
        candScore[r][g] = values[r];
        candToken[r][g] = tok;
        candParent[r][g] = Math.floor(indices[r] / vocab) * G + g;
        used[r][g] = 1;
      }
    }
    const order = [];
    for (let r = 0; r < 2 * m; r++) for (let g = 0; g < G; g++) if (used[r][g]) order.push([r, g]);
    const ended = ([r, g]) => candToken[r][g] === eos && Number.isFinite(candScore[r][g]);
    for (const [r, g] of order.slice(0, n)) {
      if (finalized.length >= n) break;
      if (!ended([r, g])) continue;
      const score = candScore[r][g];
      const p = candParent[r][g];
      const length = t + 1;
      const norm = f32(score / f32(f32(length) ** f32(opts.length_penalty)));
      const h = new Hypothesis([...tokens[p], eos], cumulativeToDeltas([...cumul[p], score]), norm, true);
      finalized.push([norm, finalized.length, h]);
    }
    if (finalized.length >= n || t === opts.max_length) break;
    const next = order.filter((c) => !ended(c)).slice(0, n);
    parents = next.map(([r, g]) => candParent[r][g]);
    last = next.map(([r, g]) => candToken[r][g]);
    tokens = next.map(([r, g], i) => [...tokens[parents[i]], last[i]]);
    cumul = next.map(([r, g], i) => [...cumul[parents[i]], candScore[r][g]]);
  }
  finalized.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return finalized.map((x) => x[2]);
}
