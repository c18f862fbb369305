// fairseq 0.9's SequenceGenerator + DiverseBeamSearch (Hamming diversity), as runtime/quals/search/fairseq.py,
// in float32 step for step. Units: min_length/max_length count generated tokens before EOS; EOS is forced
// at max_length.
using System;
using System.Collections.Generic;

namespace Quals.Search
{
    public static class FairseqSearch
    {
        public static List<Hypothesis> Run(StepFn step, SearchOptions o, int decoderStart, int eos, int pad)
        {
            int n = o.NumBeams, G = o.NumGroups, m = n / G;
            float penalty = (float)(-o.Diversity);
            var tokens = new int[n][];
            var cumul = new List<float>[n];
            for (int i = 0; i < n; i++) { tokens[i] = new int[0]; cumul[i] = new List<float>(); }
            var finalized = new List<KeyValuePair<float, Hypothesis>>();
            var last = new int[n];
            for (int i = 0; i < n; i++) last[i] = decoderStart;
            int[] parents = null;
            var topk = new TopKStream(2 * m);
            for (int t = 0; t <= o.MaxLength; t++)
            {
                float[] logp = step(last, parents);
                int V = logp.Length / n;
                for (int r = 0; r < n; r++)
                {
                    int b = r * V;
                    logp[b + pad] = float.NegativeInfinity;
                    if (t >= o.MaxLength)
                    {
                        float keep = logp[b + eos];
                        for (int v = 0; v < V; v++) logp[b + v] = float.NegativeInfinity;
                        logp[b + eos] = keep;
                    }
                    else if (t < o.MinLength) logp[b + eos] = float.NegativeInfinity;
                }
                var count = new float[V];
                var candScore = new float[2 * m, G];
                var candToken = new int[2 * m, G];
                var candParent = new int[2 * m, G];
                for (int g = 0; g < G; g++)
                {
                    int nrows = t == 0 ? 1 : m; // at step 0 all rows of a group are the same prefix
                    int size = nrows * V;
                    int k = Math.Min(2 * m, size - 1);
                    topk.Reset(k);
                    bool pen = g > 0;
                    for (int j = 0; j < nrows; j++)
                    {
                        int row = g + j * G;
                        int b = row * V, sb = j * V;
                        float c = t > 0 ? cumul[row][cumul[row].Count - 1] : 0f;
                        bool add = t > 0;
                        // scores computed on the fly (float32, in the Python order of operations), kept only
                        // when they enter the top k
                        for (int v = 0; v < V; v++)
                        {
                            float x = logp[b + v];
                            if (pen) x = (float)(x + (float)(penalty * count[v]));
                            if (add) x = (float)(x + c);
                            if (topk.Count == k && !(x > topk.Threshold)) continue;
                            topk.Offer(x, sb + v);
                        }
                    }
                    int got = topk.Count;
                    for (int r = 0; r < got; r++)
                    {
                        int flat = topk.Indices[r];
                        int tok = flat % V;
                        count[tok] = (float)(count[tok] + 1f);
                        candScore[r, g] = topk.Values[r];
                        candToken[r, g] = tok;
                        candParent[r, g] = (flat / V) * G + g;
                    }
                }
                // the interleaved candidate list: r-th candidate of every group, then the (r+1)-th...
                for (int idx = 0; idx < n && idx < 2 * m * G; idx++)
                {
                    if (finalized.Count >= n) break;
                    int r = idx / G, g = idx % G;
                    if (!Ended(candToken[r, g], candScore[r, g], eos)) continue;
                    float score = candScore[r, g];
                    int p = candParent[r, g];
                    var c = new List<float>(cumul[p]) { score };
                    int length = t + 1;
                    float norm = (float)(score / (float)Math.Pow((float)length, (float)o.LengthPenalty));
                    var toks = new int[tokens[p].Length + 1];
                    Array.Copy(tokens[p], toks, tokens[p].Length);
                    toks[toks.Length - 1] = eos;
                    finalized.Add(new KeyValuePair<float, Hypothesis>(norm, new Hypothesis(toks, Hypothesis.Deltas(c), norm, true)));
                }
                if (finalized.Count >= n || t == o.MaxLength) break;
                var newTokens = new int[n][];
                var newCumul = new List<float>[n];
                var newParents = new int[n];
                var newLast = new int[n];
                int filled = 0;
                for (int idx = 0; idx < 2 * m * G && filled < n; idx++)
                {
                    int r = idx / G, g = idx % G;
                    if (Ended(candToken[r, g], candScore[r, g], eos)) continue;
                    int p = candParent[r, g];
                    newParents[filled] = p;
                    newLast[filled] = candToken[r, g];
                    var tk = new int[tokens[p].Length + 1];
                    Array.Copy(tokens[p], tk, tokens[p].Length);
                    tk[tk.Length - 1] = candToken[r, g];
                    newTokens[filled] = tk;
                    newCumul[filled] = new List<float>(cumul[p]) { candScore[r, g] };
                    filled++;
                }
                if (filled < n) throw new InvalidOperationException("fairseq search: fewer live candidates than beams");
                tokens = newTokens; cumul = newCumul; parents = newParents; last = newLast;
            }
            // sort by score, descending, stable
            var order = new List<int>();
            for (int i = 0; i < finalized.Count; i++) order.Add(i);
            order.Sort((a, b) =>
            {
                int c = finalized[b].Key.CompareTo(finalized[a].Key);
                return c != 0 ? c : a.CompareTo(b);
            });
            var result = new List<Hypothesis>(finalized.Count);
            foreach (int i in order) result.Add(finalized[i].Value);
            return result;
        }

        static bool Ended(int token, float score, int eos) { return token == eos && !float.IsInfinity(score) && !float.IsNaN(score); }
    }
}
