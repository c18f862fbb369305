// Verdicts beyond the paper (runtime/quals/verdict.py; docs/hosts.md "Verdicts"; the JavaScript host's
// src/verdict.js). A calibration (calibration.json beside the bundle, fitted for that bundle) turns each scored
// pair into the probability that its fact is supported, and a summary's pairs into p_consistent:
//   x_i = FEATURES of pair i, standardised by the calibration's center and scale
//   z_i = w . x_i + b,  p_supported_i = sigmoid(z_i);  p_consistent = sigmoid(v . agg(z) + c)
// with two thresholds on each probability for the verdicts. The features read only the stored log-probs and
// texts, so a verdict is the same for every variant; no QUALS number changes.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using Quals.Tokenizers;

namespace Quals
{
    /// <summary>A calibration file that cannot be used with this bundle (Python's CalibrationError, a BundleError).</summary>
    public class CalibrationException : BundleException
    {
        public CalibrationException(string message) : base(message) { }
    }

    /// <summary>The source as the lexical features read it: lower-cased as written and as the tokenizer sees it
    /// (decode(encode(source))), and the words of both. The whole source, never truncated.</summary>
    public sealed class SourceText
    {
        public string Raw, View;
        public HashSet<string> Words;

        public static SourceText Of(string source, string view)
        {
            var s = new SourceText { Raw = Unicode.PyLower(source), View = Unicode.PyLower(view) };
            s.Words = new HashSet<string>(Verdicts.Words(s.Raw));
            s.Words.UnionWith(Verdicts.Words(s.View));
            return s;
        }
    }

    /// <summary>What a pair's features read (Python's PairEvidence).</summary>
    public sealed class PairEvidence
    {
        public double[] LogpSource, LogpSummary, SearchScores;
        public int[] QuestionIndex, AnswerIndex;
        public string Answer; // decoded (a coverage pair: the fact as written), lower-cased
        public SourceText Source;
    }

    public sealed class PairJudgement { public double PSupported; public string Verdict; }

    public sealed class Judgement
    {
        public double PConsistent;
        public string Verdict;
        public List<PairJudgement> Pairs = new List<PairJudgement>();
    }

    /// <summary>One unsupported fact of a summary: the pair's question and answer, the span in the stripped
    /// summary (code points; null when not found).</summary>
    public sealed class UnsupportedFact
    {
        public string Question, Answer;
        public int[] Span;

        public JsonObject ToJson()
        {
            var o = new JsonObject();
            o.Add("question", Question); o.Add("answer", Answer);
            o.Add("span", Span == null ? null : new List<object> { (long)Span[0], (long)Span[1] });
            return o;
        }
    }

    public static class Verdicts
    {
        public static readonly string[] PairNames = { "supported", "uncertain", "unsupported" };
        public static readonly string[] SummaryNames = { "consistent", "uncertain", "inconsistent" };
        public static readonly string[] FeatureNames = { "answer_diff", "answer_source", "answer_summary", "pair_diff",
            "paper_term", "question_diff", "answer_in_source", "answer_words_in_source" };
        public static readonly string[] AggregateNames = { "mean", "min", "min+mean", "softmin" };

        static bool WordChar(int cp)
        {
            return Unicode.IsLetter(cp) || Unicode.Category(cp) == UnicodeCategory.DecimalDigitNumber;
        }

        /// <summary>Maximal runs of letters (L*) and decimal digits (Nd): the same words in every host.</summary>
        public static List<string> Words(string text)
        {
            var outp = new List<string>();
            var cur = new StringBuilder();
            for (int i = 0; i < text.Length;)
            {
                int cp = PyRe.CodePointAt(text, i);
                int w = cp > 0xFFFF ? 2 : 1;
                if (WordChar(cp)) cur.Append(text, i, w);
                else if (cur.Length > 0) { outp.Add(cur.ToString()); cur.Clear(); }
                i += w;
            }
            if (cur.Length > 0) outp.Add(cur.ToString());
            return outp;
        }

        /// <summary>text without the characters at either end that are neither letters (L*) nor decimal digits (Nd).</summary>
        public static string EdgeTrimmed(string text)
        {
            int first = -1, lastEnd = -1;
            for (int i = 0; i < text.Length;)
            {
                int cp = PyRe.CodePointAt(text, i);
                int w = cp > 0xFFFF ? 2 : 1;
                if (WordChar(cp)) { if (first < 0) first = i; lastEnd = i + w; }
                i += w;
            }
            return first < 0 ? "" : text.Substring(first, lastEnd - first);
        }

        static double MeanAt(double[] a, double[] b, int[] index)
        {
            if (index.Length == 0) return 0.0;
            var v = new double[index.Length];
            for (int i = 0; i < v.Length; i++) v[i] = b == null ? a[index[i]] : a[index[i]] - b[index[i]];
            return NumpyMath.Mean(v);
        }

        public static double Feature(string name, PairEvidence e)
        {
            switch (name)
            {
                case "answer_diff": return MeanAt(e.LogpSource, e.LogpSummary, e.AnswerIndex);
                case "answer_source": return MeanAt(e.LogpSource, null, e.AnswerIndex);
                case "answer_summary": return MeanAt(e.LogpSummary, null, e.AnswerIndex);
                case "pair_diff": return NumpyMath.Mean(e.LogpSource) - NumpyMath.Mean(e.LogpSummary);
                case "paper_term": return NumpyMath.Mean(e.LogpSource) - NumpyMath.Mean(e.SearchScores);
                case "question_diff": return MeanAt(e.LogpSource, e.LogpSummary, e.QuestionIndex);
                case "answer_in_source":
                {
                    string a = EdgeTrimmed(e.Answer);
                    return a.Length > 0 && (e.Source.Raw.IndexOf(a, StringComparison.Ordinal) >= 0
                                            || e.Source.View.IndexOf(a, StringComparison.Ordinal) >= 0) ? 1.0 : 0.0;
                }
                case "answer_words_in_source":
                {
                    var ws = Words(e.Answer);
                    if (ws.Count == 0) return 1.0;
                    int n = 0;
                    foreach (var w in ws) if (e.Source.Words.Contains(w)) n++;
                    return (double)n / ws.Count;
                }
                default: throw new CalibrationException("unknown feature " + name);
            }
        }

        /// <summary>ln(1 + x), accurate near 0 (.NET Framework has no Math.Log1p).</summary>
        static double Log1p(double x)
        {
            double u = 1.0 + x;
            if (u == 1.0) return x;
            return Math.Log(u) * x / (u - 1.0);
        }

        /// <summary>numpy's logaddexp.</summary>
        static double LogAddExp(double x, double y)
        {
            if (x == y) return x + 0.693147180559945309417232121458176568; // LOGE2
            double t = x - y;
            if (t > 0) return x + Log1p(Math.Exp(-t));
            if (t <= 0) return y + Log1p(Math.Exp(t));
            return t; // NaN
        }

        public static double[] Aggregate(string name, double[] z)
        {
            double min = double.PositiveInfinity;
            foreach (var v in z) min = Math.Min(min, v);
            switch (name)
            {
                case "mean": return new[] { NumpyMath.Mean(z) };
                case "min": return new[] { min };
                case "min+mean": return new[] { min, NumpyMath.Mean(z) };
                case "softmin":
                {
                    double acc = -z[0];
                    for (int i = 1; i < z.Length; i++) acc = LogAddExp(acc, -z[i]);
                    return new[] { -acc };
                }
                default: throw new CalibrationException("calibration uses unknown aggregate '" + name + "'");
            }
        }

        public static double Sigmoid(double x)
        {
            return x >= 0 ? 1.0 / (1.0 + Math.Exp(-x)) : Math.Exp(x) / (1.0 + Math.Exp(x));
        }

        /// <summary>names[0] when p >= upper, names[2] when p < lower, else names[1] (the uncertain band).</summary>
        public static string Band(double p, double lower, double upper, string[] names)
        {
            return p >= upper ? names[0] : p < lower ? names[2] : names[1];
        }
    }

    /// <summary>A fitted calibration (the file's content, Python's Calibration); Id (sha256 of the file) names it in the signature.</summary>
    public sealed class Calibration
    {
        public const string FileName = "calibration.json";
        public const string FormatName = "quals-calibration";
        public const int FormatVersion = 1;

        public string Bundle, Aggregate, Id = "";
        public string[] Features;
        public double[] Center, Scale, PairWeights, SummaryWeights;
        public double PairBias, SummaryBias;
        public double UnsupportedBelow, SupportedFrom, InconsistentBelow, ConsistentFrom;
        public HashSet<string> CommonWords;

        static string Repr(object v) { return v == null ? "None" : v is string ? "'" + v + "'" : Convert.ToString(v, CultureInfo.InvariantCulture); }

        static object Need(JsonObject o, string key)
        {
            if (o == null) throw new FormatException("expected an object");
            if (!o.Has(key)) throw new KeyNotFoundException("'" + key + "'");
            return o.Get(key);
        }

        static double[] Doubles(object v) { return Json.ToDoubleArray(v); }

        public static Calibration FromJson(JsonObject d, string id)
        {
            object fv = d.Get("format_version");
            if (d.Str("format") != FormatName || !(fv is long) || (long)fv != FormatVersion)
                throw new CalibrationException("not a " + FormatName + " file of version " + FormatVersion + " (format "
                    + Repr(d.Get("format")) + ", version " + Repr(fv) + ")");
            var c = new Calibration { Id = id };
            try
            {
                var pair = Need(d, "pair") as JsonObject;
                var summ = Need(d, "summary") as JsonObject;
                c.Bundle = Convert.ToString(Need(d, "bundle"), CultureInfo.InvariantCulture);
                var feats = (List<object>)Need(d, "features");
                c.Features = feats.ConvertAll(x => Convert.ToString(x, CultureInfo.InvariantCulture)).ToArray();
                c.Center = Doubles(Need(d, "center"));
                c.Scale = Doubles(Need(d, "scale"));
                c.PairWeights = Doubles(Need(pair, "weights"));
                c.PairBias = Json.ToDouble(Need(pair, "bias"));
                c.UnsupportedBelow = Json.ToDouble(Need(pair, "unsupported_below"));
                c.SupportedFrom = Json.ToDouble(Need(pair, "supported_from"));
                c.Aggregate = Convert.ToString(Need(d, "aggregate"), CultureInfo.InvariantCulture);
                c.SummaryWeights = Doubles(Need(summ, "weights"));
                c.SummaryBias = Json.ToDouble(Need(summ, "bias"));
                c.InconsistentBelow = Json.ToDouble(Need(summ, "inconsistent_below"));
                c.ConsistentFrom = Json.ToDouble(Need(summ, "consistent_from"));
                var facts = Need(d, "facts") as JsonObject;
                var words = (List<object>)Need(facts, "common_words");
                c.CommonWords = new HashSet<string>(words.ConvertAll(x => Convert.ToString(x, CultureInfo.InvariantCulture)));
            }
            catch (Exception e) when (e is KeyNotFoundException || e is FormatException || e is InvalidCastException || e is NullReferenceException)
            {
                throw new CalibrationException("calibration: missing or malformed field (" + e.Message + ")");
            }
            c.Validate();
            return c;
        }

        void Validate()
        {
            var unknown = new List<string>();
            foreach (var f in Features) if (Array.IndexOf(Verdicts.FeatureNames, f) < 0) unknown.Add(f);
            if (unknown.Count > 0)
                throw new CalibrationException("calibration uses unknown feature(s) " + string.Join(", ", unknown) + "; this quals knows "
                    + string.Join(", ", Verdicts.FeatureNames));
            if (Array.IndexOf(Verdicts.AggregateNames, Aggregate) < 0)
                throw new CalibrationException("calibration uses unknown aggregate '" + Aggregate + "'");
            int n = Features.Length;
            if (!(Center.Length == n && Scale.Length == n && PairWeights.Length == n))
                throw new CalibrationException("calibration: center, scale and pair weights need one value per feature");
            int k = Verdicts.Aggregate(Aggregate, new double[1]).Length;
            if (SummaryWeights.Length != k)
                throw new CalibrationException("calibration: the " + Aggregate + " aggregate needs " + k + " summary weight(s)");
            if (CommonWords.Count == 0)
                throw new CalibrationException("calibration: facts.common_words is empty (the word list of quals.facts)");
            foreach (var t in new[] { new[] { UnsupportedBelow, SupportedFrom }, new[] { InconsistentBelow, ConsistentFrom } })
                if (!(0.0 <= t[0] && t[0] <= t[1] && t[1] <= 1.0))
                    throw new CalibrationException("calibration: thresholds must satisfy 0 <= lower <= upper <= 1");
        }

        /// <summary>The calibration beside a bundle, or null when it has none. Refused when it was fitted for
        /// another bundle: a calibration reads one model's log-probs, and a changed model needs a refit.</summary>
        public static Calibration Load(string bundleDir, string bundleDigest)
        {
            string path = Path.Combine(bundleDir, FileName);
            if (!File.Exists(path)) return null;
            byte[] data = File.ReadAllBytes(path);
            JsonObject d;
            try
            {
                d = Json.Parse(new UTF8Encoding(false, true).GetString(data)) as JsonObject;
            }
            catch (Exception e) when (e is FormatException || e is DecoderFallbackException || e is ArgumentException)
            {
                throw new CalibrationException(path + ": corrupt calibration (" + e.Message + ")");
            }
            if (d == null) throw new CalibrationException(path + ": corrupt calibration (not a JSON object)");
            string id;
            using (var sha = SHA256.Create())
            {
                var sb = new StringBuilder(64);
                foreach (byte b in sha.ComputeHash(data)) sb.Append(b.ToString("x2"));
                id = sb.ToString();
            }
            var cal = FromJson(d, id);
            if (cal.Bundle != bundleDigest)
                throw new CalibrationException(path + " was fitted for bundle " + Short(cal.Bundle) + ", not this one ("
                    + Short(bundleDigest) + "): refit it (python -m quals.train.calibrate --model " + bundleDir
                    + ") or remove it to score without verdicts");
            return cal;
        }

        static string Short(string s) { return s.Length > 12 ? s.Substring(0, 12) : s; }

        /// <summary>The pair's logit z = sum_k w_k (x_k - center_k) / scale_k + b.</summary>
        public double PairLogit(PairEvidence e)
        {
            double z = 0;
            for (int k = 0; k < Features.Length; k++) z += PairWeights[k] * ((Verdicts.Feature(Features[k], e) - Center[k]) / Scale[k]);
            return z + PairBias;
        }

        /// <summary>The verdicts of one summary's pairs; null when it has no pair.</summary>
        public Judgement Judge(IList<PairEvidence> evidence)
        {
            if (evidence.Count == 0) return null;
            var z = new double[evidence.Count];
            var j = new Judgement();
            for (int i = 0; i < z.Length; i++)
            {
                z[i] = PairLogit(evidence[i]);
                double p = Verdicts.Sigmoid(z[i]);
                j.Pairs.Add(new PairJudgement { PSupported = p, Verdict = Verdicts.Band(p, UnsupportedBelow, SupportedFrom, Verdicts.PairNames) });
            }
            var a = Verdicts.Aggregate(Aggregate, z);
            double s = 0;
            for (int k = 0; k < a.Length; k++) s += SummaryWeights[k] * a[k];
            j.PConsistent = Verdicts.Sigmoid(s + SummaryBias);
            j.Verdict = Verdicts.Band(j.PConsistent, InconsistentBelow, ConsistentFrom, Verdicts.SummaryNames);
            return j;
        }
    }
}
