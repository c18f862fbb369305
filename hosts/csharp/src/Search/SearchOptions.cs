// What every search shares (runtime/quals/search/base.py): options, hypotheses, the step function, top-k.
using System;
using System.Collections.Generic;

namespace Quals.Search
{
    /// <summary>Log-probs (rows x V, float32) of the next token for every row. tokens: the token just appended to
    /// each row (the decoder start on the first call); parents: the previous row each row extends (null first).</summary>
    public delegate float[] StepFn(int[] tokens, int[] parents);

    public sealed class SearchOptions
    {
        public string Search = "fairseq";
        public int NumBeams = 4;
        public int NumGroups = 1;
        public double Diversity = 0.0;
        public int MinLength = 0;
        public int MaxLength = 20;
        public double LengthPenalty = 1.0;
        public int? NumReturn = null;        // hf only
        public object EarlyStopping = false; // hf only: true, false or "never"

        public static readonly string[] Searches = { "hf", "fairseq" };

        public SearchOptions Clone() { return (SearchOptions)MemberwiseClone(); }

        public void Validate()
        {
            if (Array.IndexOf(Searches, Search) < 0) throw new OptionsException("unknown search '" + Search + "'; choose one of hf, fairseq");
            if (NumBeams < 1 || NumGroups < 1) throw new OptionsException("num_beams and num_groups must be >= 1");
            if (NumBeams % NumGroups != 0) throw new OptionsException("num_beams (" + NumBeams + ") must be divisible by num_groups (" + NumGroups + ")");
            if (Diversity < 0) throw new OptionsException("diversity must be >= 0");
            if (MaxLength < 1 || MinLength < 0) throw new OptionsException("max_length must be >= 1 and min_length >= 0");
            if (NumReturn.HasValue && (NumReturn.Value < 1 || NumReturn.Value > NumBeams))
                throw new OptionsException("num_return must be between 1 and num_beams (" + NumBeams + ")");
            if (!(EarlyStopping is bool) && !"never".Equals(EarlyStopping)) throw new OptionsException("early_stopping must be True, False or 'never'");
        }

        public int Returned { get { return NumReturn ?? NumBeams; } }
    }

    /// <summary>One finished (or length-capped) sequence. TokenScores are float32 differences of the cumulative
    /// search score (diversity penalties included); Score is what the search ranks by.</summary>
    public sealed class Hypothesis
    {
        public readonly int[] Tokens;
        public readonly float[] TokenScores;
        public readonly double Score;
        public readonly bool Finished;

        public Hypothesis(int[] tokens, float[] tokenScores, double score, bool finished)
        {
            Tokens = tokens; TokenScores = tokenScores; Score = score; Finished = finished;
        }

        /// <summary>Python's float(sum(token_scores)): float64, left to right.</summary>
        public double SumScore
        {
            get { double s = 0; foreach (float x in TokenScores) s += x; return s; }
        }

        public static float[] Deltas(IList<float> cumulative)
        {
            var d = new float[cumulative.Count];
            float prev = 0f;
            for (int i = 0; i < d.Length; i++) { d[i] = (float)(cumulative[i] - prev); prev = cumulative[i]; }
            return d;
        }
    }

    /// <summary>Streaming top-k: offer (value, index) pairs in increasing index order; keeps the k largest,
    /// descending, ties by the lower index (runtime/quals/search/base.py top_k).</summary>
    public sealed class TopKStream
    {
        public readonly float[] Values;
        public readonly int[] Indices;
        public int Count;
        public float Threshold; // a value must beat this to enter once the list is full
        int k;

        public TopKStream(int capacity) { Values = new float[capacity]; Indices = new int[capacity]; }

        public void Reset(int k) { this.k = k; Count = 0; Threshold = float.NegativeInfinity; }

        /// <summary>Call only when Count &lt; k or v &gt; Threshold (the caller's cheap pre-check).</summary>
        public void Offer(float v, int index)
        {
            int j;
            if (Count == k) j = k - 1; else j = Count++;
            while (j > 0 && v > Values[j - 1]) { Values[j] = Values[j - 1]; Indices[j] = Indices[j - 1]; j--; }
            Values[j] = v;
            Indices[j] = index;
            if (Count == k) Threshold = Values[k - 1];
        }

        public bool Wants(float v) { return Count < k || v > Threshold; }
    }
}
