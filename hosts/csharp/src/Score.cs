// The QUALS score from per-token log-probs (runtime/quals/score.py): S_x - S_y per pair, averaged over pairs.
using System.Collections.Generic;

namespace Quals
{
    public sealed class PairScore
    {
        public string Question, Answer;
        public int[] Tokens;
        public double[] LogpSource, LogpSummary, SearchScores;
        public double SX, SY, Value;
        public int[] AnswerIndex;
        public QaPair Pair; // null for a coverage pair (the verdict mode's)
        // the verdict mode (Verdict.cs; null without a calibration): the calibrated probability that the pair's
        // fact is supported, and its band
        public double? PSupported;
        public string Verdict;

        public static readonly string[] Variants = { "paper", "clean", "ans_lm" };

        public static PairScore Compute(QaPair pair, float[] logpSource, float[] logpSummary, string variant, HashSet<int> ignoreIds)
        {
            int T = pair.Tokens.Length;
            if (logpSource.Length != T || logpSummary.Length != T || pair.Hypothesis.TokenScores.Length != T)
                throw new System.ArgumentException("per-token arrays must all have one entry per token");
            var p = new PairScore { Question = pair.Question, Answer = pair.Answer, Tokens = pair.Tokens, Pair = pair };
            p.LogpSource = new double[T]; p.LogpSummary = new double[T]; p.SearchScores = new double[T];
            for (int i = 0; i < T; i++)
            {
                p.LogpSource[i] = logpSource[i];
                p.LogpSummary[i] = logpSummary[i];
                p.SearchScores[i] = pair.Hypothesis.TokenScores[i];
            }
            var idx = new List<int>();
            for (int i = pair.SepIndex + 1; i < pair.AnswerEnd; i++) if (!ignoreIds.Contains(pair.Tokens[i])) idx.Add(i);
            p.AnswerIndex = idx.ToArray();
            p.SX = NumpyMath.Mean(p.LogpSource);
            double sy, value;
            p.Term(variant, out sy, out value);
            p.SY = sy; p.Value = value;
            return p;
        }

        /// <summary>(S_y, the pair's term) under a variant; every variant is a function of the stored log-probs.</summary>
        public void Term(string variant, out double sy, out double value)
        {
            double sx = NumpyMath.Mean(LogpSource);
            switch (variant)
            {
                case "paper": sy = NumpyMath.Mean(SearchScores); value = sx - sy; return;
                case "clean": sy = NumpyMath.Mean(LogpSummary); value = sx - sy; return;
                case "ans_lm":
                    sy = NumpyMath.Mean(SearchScores);
                    var d = new double[AnswerIndex.Length];
                    for (int i = 0; i < d.Length; i++) d[i] = LogpSource[AnswerIndex[i]] - SearchScores[AnswerIndex[i]];
                    value = NumpyMath.PairwiseSum(d, 0, d.Length);
                    return;
                default: throw new OptionsException("unknown variant '" + variant + "'; choose one of paper, clean, ans_lm");
            }
        }

        public double ValueFor(string variant) { double sy, v; Term(variant, out sy, out v); return v; }

        /// <summary>Mean of the pair terms under `variant`; null when there is no pair.</summary>
        public static double? Quals(IList<PairScore> pairs, string variant)
        {
            if (pairs.Count == 0) return null;
            var v = new double[pairs.Count];
            for (int i = 0; i < v.Length; i++) v[i] = pairs[i].ValueFor(variant);
            return NumpyMath.Mean(v);
        }
    }
}
