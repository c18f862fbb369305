// transformers 4.53-4.56 group beam search (_group_beam_search + BeamSearchScorer), as runtime/quals/search/hf.py:
// the Hamming penalty counts tokens earlier groups selected at this step; each group keeps its own finished
// list, merged and sorted at the end; max_length/min_length count the decoder start token; no forced EOS.
using System;
using System.Collections.Generic;

namespace Quals.Search
{
    public static class HfSearch
    {
        sealed class Beam
        {
            public double Score; public int[] Tokens; public float[] Deltas; public bool Finished;
        }

        /// <summary>transformers' BeamHypotheses: the n best finished sequences of one group.</summary>
        sealed class GroupHyps
        {
            readonly int n;
            readonly SearchOptions o;
            public readonly List<Beam> Beams = new List<Beam>();
            double worst = 1e9;
            public bool Done;

            public GroupHyps(int n, SearchOptions o) { this.n = n; this.o = o; }

            public void Add(int[] tokens, List<float> cumulative, double sumLogprobs, int generatedLen, bool finished)
            {
                double score = sumLogprobs / Math.Pow(generatedLen, o.LengthPenalty);
                if (Beams.Count < n || score > worst)
                {
                    Beams.Add(new Beam { Score = score, Tokens = tokens, Deltas = Hypothesis.Deltas(cumulative), Finished = finished });
                    if (Beams.Count > n)
                    {
                        // sorted((s, i)): by score, then index
                        var ranked = new List<int>();
                        for (int i = 0; i < Beams.Count; i++) ranked.Add(i);
                        ranked.Sort((a, b) => { int c = Beams[a].Score.CompareTo(Beams[b].Score); return c != 0 ? c : a.CompareTo(b); });
                        double next = Beams[ranked[1]].Score;
                        Beams.RemoveAt(ranked[0]);
                        worst = next;
                    }
                    else worst = Math.Min(score, worst);
                }
            }

            public bool IsDone(double bestSum, int curLen)
            {
                if (Beams.Count < n) return false;
                double lp = o.LengthPenalty;
                if (true.Equals(o.EarlyStopping)) return true;
                if (false.Equals(o.EarlyStopping) || lp <= 0.0) return worst >= bestSum / Math.Pow(curLen - 1, lp);
                return worst >= bestSum / Math.Pow(o.MaxLength - 1, lp);
            }
        }

        public static List<Hypothesis> Run(StepFn step, SearchOptions o, int decoderStart, int eos, int pad)
        {
            int n = o.NumBeams, G = o.NumGroups, m = n / G, k = 2 * m;
            var beamScores = new float[n];
            for (int i = 0; i < n; i++) beamScores[i] = i % m == 0 ? 0f : -1e9f;
            var prefixes = new int[n][];
            var cumul = new List<float>[n];
            for (int i = 0; i < n; i++) { prefixes[i] = new int[0]; cumul[i] = new List<float>(); }
            var groups = new GroupHyps[G];
            for (int g = 0; g < G; g++) groups[g] = new GroupHyps(m, o);
            var tokens = new int[n];
            for (int i = 0; i < n; i++) tokens[i] = decoderStart;
            int[] parents = null;
            // rows of groups that are not done: the only rows the step function computes (a done group
            // only emits pad; int8 bundles depend on which rows share a call, docs/hosts.md)
            var active = new List<int>();
            for (int i = 0; i < n; i++) active.Add(i);
            var position = new int[n]; // row -> its row in this step's log-probs
            int curLen = 1; // transformers counts the decoder start token
            var topk = new TopKStream(k);
            float div = (float)o.Diversity;
            while (true)
            {
                var activeTokens = new int[active.Count];
                for (int i = 0; i < active.Count; i++) activeTokens[i] = tokens[active[i]];
                float[] logp = step(activeTokens, parents);
                int V = logp.Length / active.Count;
                for (int i = 0; i < n; i++) position[i] = -1;
                for (int i = 0; i < active.Count; i++) position[active[i]] = i;
                var current = new int[n];
                var reorder = new int[n];
                var newPrefixes = new int[n][];
                var newCumul = new List<float>[n];
                float[] freq = new float[V];
                for (int g = 0; g < G; g++)
                {
                    var hyps = groups[g];
                    int r0 = g * m;
                    if (hyps.Done)
                    {
                        for (int r = r0; r < r0 + m; r++)
                        {
                            beamScores[r] = 0f; current[r] = pad; reorder[r] = r0;
                            newPrefixes[r] = prefixes[r0]; newCumul[r] = cumul[r0];
                        }
                        continue;
                    }
                    if (g > 0 && o.Diversity > 0)
                    {
                        Array.Clear(freq, 0, V);
                        for (int r = 0; r < r0; r++) freq[current[r]] = (float)(freq[current[r]] + 1f);
                    }
                    topk.Reset(k);
                    bool pen = g > 0 && o.Diversity > 0, noEos = curLen < o.MinLength;
                    for (int j = 0; j < m; j++)
                    {
                        int row = r0 + j;
                        float bs = beamScores[row];
                        int b = position[row] * V, sb = j * V;
                        for (int v = 0; v < V; v++)
                        {
                            float x = logp[b + v];
                            if (pen) x = (float)(x - (float)(div * freq[v]));
                            if (noEos && v == eos) x = float.NegativeInfinity;
                            x = (float)(x + bs);
                            if (topk.Count == k && !(x > topk.Threshold)) continue;
                            topk.Offer(x, sb + v);
                        }
                    }
                    int got = topk.Count;
                    var top = topk.Indices;
                    var topValues = topk.Values;
                    double bestSum = topValues[0];
                    int filled = 0;
                    for (int rank = 0; rank < got; rank++)
                    {
                        int flat = top[rank];
                        int parent = r0 + flat / V;
                        int tok = flat % V;
                        float value = topValues[rank];
                        if (tok == eos)
                        {
                            if (rank >= m) continue;
                            var c = new List<float>(cumul[parent]) { value };
                            hyps.Add(Append(prefixes[parent], eos), c, value, prefixes[parent].Length + 1, true);
                        }
                        else
                        {
                            int r = r0 + filled;
                            beamScores[r] = value;
                            current[r] = tok;
                            reorder[r] = parent;
                            newPrefixes[r] = Append(prefixes[parent], tok);
                            newCumul[r] = new List<float>(cumul[parent]) { value };
                            filled++;
                        }
                        if (filled == m) break;
                    }
                    hyps.Done = hyps.IsDone(bestSum, curLen + 1);
                }
                prefixes = newPrefixes; cumul = newCumul;
                tokens = current;
                curLen++;
                bool allDone = true;
                foreach (var h in groups) allDone &= h.Done;
                if (allDone || curLen >= o.MaxLength) break;
                // the next step computes only live groups' rows; parents index this step's computed rows
                active.Clear();
                for (int g = 0; g < G; g++) if (!groups[g].Done) for (int r = g * m; r < (g + 1) * m; r++) active.Add(r);
                parents = new int[active.Count];
                for (int i = 0; i < active.Count; i++) parents[i] = position[reorder[active[i]]];
            }
            for (int g = 0; g < G; g++)
            {
                if (groups[g].Done) continue;
                for (int r = g * m; r < (g + 1) * m; r++)
                    groups[g].Add(prefixes[r], cumul[r], beamScores[r], prefixes[r].Length, false);
            }
            var candidates = new List<Beam>();
            foreach (var h in groups) candidates.AddRange(h.Beams);
            // sorted by score (stable), best popped from the end: among equal scores the later one comes first
            var idx = new List<int>();
            for (int i = 0; i < candidates.Count; i++) idx.Add(i);
            idx.Sort((a, b) => { int c = candidates[a].Score.CompareTo(candidates[b].Score); return c != 0 ? c : a.CompareTo(b); });
            var result = new List<Hypothesis>();
            for (int i = idx.Count - 1; i >= 0 && result.Count < o.Returned; i--)
            {
                var b = candidates[idx[i]];
                result.Add(new Hypothesis(b.Tokens, b.Deltas, b.Score, b.Finished));
            }
            return result;
        }

        static int[] Append(int[] a, int x)
        {
            var r = new int[a.Length + 1];
            Array.Copy(a, r, a.Length);
            r[a.Length] = x;
            return r;
        }
    }
}
