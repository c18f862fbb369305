// The conformance runner: replays build/conformance/<name>/vectors.json (written by `quals conformance`)
// through this host and checks every intermediate value against the Python runtime's.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using Quals;
using Quals.Search;
using Quals.Tokenizers;

namespace Quals.Cli
{
    sealed class Conformance
    {
        readonly List<string> failures = new List<string>();
        int checks, verdictChecks;
        double maxLogprob, maxQuals, maxVerdict;
        bool verdictClose; // Close() is checking a verdict-mode number
        double tolLogprob = 1e-4, tolQuals = 1e-4;
        double? tightTolerance;

        void Fail(string path, string what)
        {
            failures.Add(path + ": " + what);
        }

        void Eq<T>(string path, T actual, T expected)
        {
            checks++;
            if (!EqualityComparer<T>.Default.Equals(actual, expected)) Fail(path, Show(actual) + " != expected " + Show(expected));
        }

        void Ints(string path, IList<int> actual, object expected)
        {
            checks++;
            var e = Json.ToIntArray(expected);
            bool same = actual.Count == e.Length;
            for (int i = 0; same && i < e.Length; i++) same = actual[i] == e[i];
            if (!same) Fail(path, "[" + string.Join(",", actual) + "] != expected [" + string.Join(",", e) + "]");
        }

        void Close(string path, double actual, object expected, bool quals)
        {
            checks++;
            double e = Json.ToDouble(expected);
            double d = Math.Abs(actual - e);
            if (double.IsNegativeInfinity(actual) && double.IsNegativeInfinity(e)) d = 0;
            if (quals) maxQuals = Math.Max(maxQuals, d);
            else if (verdictClose) maxVerdict = Math.Max(maxVerdict, d);
            else maxLogprob = Math.Max(maxLogprob, d);
            if (!(d <= (quals ? tolQuals : tolLogprob))) Fail(path, R(actual) + " != expected " + R(e) + " (diff " + d.ToString("G3", CultureInfo.InvariantCulture) + ")");
        }

        void Floats(string path, IList<double> actual, object expected, bool quals)
        {
            var e = Json.ToDoubleArray(expected);
            if (actual.Count != e.Length) { checks++; Fail(path, "length " + actual.Count + " != expected " + e.Length); return; }
            for (int i = 0; i < e.Length; i++) Close(path + "[" + i + "]", actual[i], e[i], quals);
        }

        static string R(double d) { return d.ToString("R", CultureInfo.InvariantCulture); }
        static string Show(object o) { return o == null ? "null" : o is string ? Json.Write(o) : Convert.ToString(o, CultureInfo.InvariantCulture); }

        public static int Run(string[] args)
        {
            string ortLib = null, repo = Directory.GetCurrentDirectory();
            double? tight = null; // --tolerance: a stricter bound than the file's, to look for drift
            var overrides = new Dictionary<string, string>();
            var files = new List<string>();
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--bundle") { var kv = args[++i]; int eq = kv.IndexOf('='); overrides[kv.Substring(0, eq)] = kv.Substring(eq + 1); }
                else if (args[i] == "--ort") ortLib = args[++i];
                else if (args[i] == "--repo") repo = args[++i];
                else if (args[i] == "--tolerance") tight = double.Parse(args[++i], CultureInfo.InvariantCulture);
                else files.Add(args[i]);
            }
            if (files.Count == 0) { Console.Error.WriteLine("usage: conformance [--bundle NAME=PATH] [--ort LIB] [--repo DIR] VECTORS_JSON..."); return 2; }
            int rc = 0;
            foreach (var f in files)
            {
                var c = new Conformance { tightTolerance = tight };
                try { if (!c.RunFile(f, repo, overrides, ortLib)) rc = 1; }
                catch (Exception e) when (e is QualsException || e is IOException || e is FormatException || e is UnauthorizedAccessException)
                {
                    Console.WriteLine(Json.Write(new JsonObject { { "vectors", f }, { "error", e.Message } }));
                    Console.Error.WriteLine("error: " + f + ": " + e.Message);
                    rc = 1;
                }
            }
            return rc;
        }

        bool RunFile(string file, string repo, Dictionary<string, string> overrides, string ortLib)
        {
            var sw = Stopwatch.StartNew();
            var doc = (JsonObject)Json.Parse(File.ReadAllText(file, Encoding.UTF8));
            if (doc.Str("format") != "quals-conformance" || Json.ToLong(doc.Get("format_version")) != 1)
                throw new QualsException(file + ": not a quals-conformance format_version 1 document");
            var tol = doc.Obj("tolerance");
            if (tol != null) { tolLogprob = Json.ToDouble(tol.Get("logprob")); tolQuals = Json.ToDouble(tol.Get("quals")); }
            if (tightTolerance.HasValue) tolLogprob = tolQuals = tightTolerance.Value;
            var b = doc.Obj("bundle");
            string name = b.Str("name");
            string bundlePath = overrides.ContainsKey(name) ? overrides[name] : Path.Combine(repo, b.Str("path"));
            using (var q = Scorer.Load(bundlePath, ortLib, threads: 1))
            {
                Eq("$.bundle.digest", q.Bundle.Digest, b.Str("digest"));
                // the calibration the vectors were made with (null: none, and no verdicts) is the one this host loaded
                var cal = doc.Obj("calibration");
                Eq("$.calibration.id", q.Calibration == null ? null : q.Calibration.Id, cal == null ? null : cal.Str("id"));
                var toks = doc.Arr("tokenization");
                for (int i = 0; i < toks.Count; i++)
                {
                    var t = (JsonObject)toks[i];
                    Ints("$.tokenization[" + i + "] " + Json.Write(t.Str("text")), q.TextIds(t.Str("text")), t.Get("ids"));
                }
                var decs = doc.Arr("decoding");
                for (int i = 0; i < decs.Count; i++)
                {
                    var t = (JsonObject)decs[i];
                    Eq("$.decoding[" + i + "]", q.Decode(Json.ToIntArray(t.Get("ids"))), t.Str("text"));
                }
                var cases = doc.Arr("cases");
                for (int ci = 0; ci < cases.Count; ci++)
                {
                    var c = (JsonObject)cases[ci];
                    string path = "$.cases[" + ci + "](" + c.Str("name") + ")";
                    var encoded = c.Obj("encoded");
                    CheckEncoded(path + ".encoded.source", q, c.Str("source"), encoded.Get("source"));
                    CheckEncoded(path + ".encoded.summary", q, c.Str("summary"), encoded.Get("summary"));
                    var runs = c.Arr("runs");
                    for (int ri = 0; ri < runs.Count; ri++) CheckRun(path + ".runs[" + ri + "]", q, c, (JsonObject)runs[ri]);
                }
            }
            sw.Stop();
            var summary = new JsonObject();
            summary.Add("vectors", file);
            summary.Add("bundle", name);
            summary.Add("checked", checks);
            summary.Add("failures", failures.Count);
            summary.Add("max_logprob_diff", maxLogprob);
            summary.Add("max_quals_diff", maxQuals);
            summary.Add("verdict_checks", verdictChecks);
            summary.Add("max_verdict_diff", maxVerdict);
            summary.Add("seconds", Math.Round(sw.Elapsed.TotalSeconds, 2));
            Console.WriteLine(Json.Write(summary));
            if (failures.Count > 0)
            {
                Console.Error.WriteLine("first differences (" + failures.Count + " in all) for " + file + ":");
                for (int i = 0; i < Math.Min(25, failures.Count); i++) Console.Error.WriteLine("  " + failures[i]);
            }
            return failures.Count == 0;
        }

        void CheckEncoded(string path, Scorer q, string text, object expected)
        {
            string s = Unicode.PyStrip(text);
            if (expected == null) { Eq(path, s.Length == 0 ? "null" : "non-null", "null"); return; }
            if (s.Length == 0) { Eq(path, "null", "non-null"); return; }
            var e = (JsonObject)expected;
            var enc = q.Encode(s, null);
            Ints(path + ".ids", enc.Ids, e.Get("ids"));
            Eq(path + ".n_text_tokens", (long)enc.NTextTokens, Json.ToLong(e.Get("n_text_tokens")));
            Eq(path + ".truncated", enc.Truncated, (bool)e.Get("truncated"));
        }

        void CheckRun(string path, Scorer q, JsonObject c, JsonObject run)
        {
            var o = run.Obj("options");
            var ov = new OptionOverrides
            {
                Search = o.Str("search"),
                NumBeams = (int)Json.ToLong(o.Get("num_beams")),
                NumGroups = (int)Json.ToLong(o.Get("num_groups")),
                Diversity = Json.ToDouble(o.Get("diversity")),
                MinLength = (int)Json.ToLong(o.Get("min_length")),
                MaxLength = (int)Json.ToLong(o.Get("max_length")),
                LengthPenalty = Json.ToDouble(o.Get("length_penalty")),
                MaxPairs = (int)Json.ToLong(o.Get("max_pairs")),
                MaxSourceTokens = (int)Json.ToLong(o.Get("max_source_tokens")),
            };
            path += "[" + ov.Search + "]";
            var opts = Scorer.DefaultOptions(q.Manifest, ov);
            var r = q.Score(c.Str("source"), c.Str("summary"), opts);
            int before = failures.Count;

            var hyps = run.Arr("hypotheses");
            Eq(path + ".hypotheses.length", r.Hypotheses.Count, hyps.Count);
            for (int i = 0; i < Math.Min(hyps.Count, r.Hypotheses.Count); i++)
            {
                var e = (JsonObject)hyps[i];
                var h = r.Hypotheses[i];
                string hp = path + ".hypotheses[" + i + "]";
                Ints(hp + ".tokens", h.Tokens, e.Get("tokens"));
                Eq(hp + ".finished", h.Finished, (bool)e.Get("finished"));
                Floats(hp + ".token_scores", Array.ConvertAll(h.TokenScores, x => (double)x), e.Get("token_scores"), false);
                Close(hp + ".score", h.Score, e.Get("score"), false);
            }
            var index = new Dictionary<Hypothesis, int>();
            for (int i = 0; i < r.Hypotheses.Count; i++) index[r.Hypotheses[i]] = i;
            Ints(path + ".span_valid", r.SpanValid.ConvertAll(p => index[p.Hypothesis]), run.Get("span_valid"));
            Ints(path + ".selected", r.Selected.ConvertAll(p => index[p.Hypothesis]), run.Get("selected"));

            var pairs = run.Arr("pairs");
            Eq(path + ".pairs.length", r.Pairs.Count, pairs.Count);
            for (int i = 0; i < Math.Min(pairs.Count, r.Pairs.Count); i++)
            {
                var e = (JsonObject)pairs[i];
                var p = r.Pairs[i];
                string pp = path + ".pairs[" + i + "]";
                Eq(pp + ".hypothesis", (long)index[p.Pair.Hypothesis], Json.ToLong(e.Get("hypothesis")));
                Eq(pp + ".question", p.Question, e.Str("question"));
                Eq(pp + ".answer", p.Answer, e.Str("answer"));
                Ints(pp + ".tokens", p.Tokens, e.Get("tokens"));
                Eq(pp + ".sep_index", (long)p.Pair.SepIndex, Json.ToLong(e.Get("sep_index")));
                Ints(pp + ".answer_index", p.AnswerIndex, e.Get("answer_index"));
                Floats(pp + ".logp_source", p.LogpSource, e.Get("logp_source"), false);
                Floats(pp + ".logp_summary", p.LogpSummary, e.Get("logp_summary"), false);
                Floats(pp + ".search_scores", p.SearchScores, e.Get("search_scores"), false);
                Close(pp + ".s_x", p.SX, e.Get("s_x"), true);
                Close(pp + ".s_y", p.SY, e.Get("s_y"), true);
                var vals = e.Obj("values");
                foreach (var v in PairScore.Variants) Close(pp + ".values." + v, p.ValueFor(v), vals.Get(v), true);
            }

            var res = run.Obj("result");
            string rp = path + ".result";
            Eq(rp + ".status", r.Status, res.Str("status"));
            Eq(rp + ".error", r.Error, res.Str("error"));
            Eq(rp + ".n_pairs", (long)r.NPairs, Json.ToLong(res.Get("n_pairs")));
            Eq(rp + ".n_hypotheses", (long)r.NHypotheses, Json.ToLong(res.Get("n_hypotheses")));
            Eq(rp + ".n_span_valid", (long)r.NSpanValid, Json.ToLong(res.Get("n_span_valid")));
            Eq(rp + ".source_tokens", (long)r.SourceTokens, Json.ToLong(res.Get("source_tokens")));
            Eq(rp + ".source_truncated", r.SourceTruncated, (bool)res.Get("source_truncated"));
            Eq(rp + ".summary_tokens", (long)r.SummaryTokens, Json.ToLong(res.Get("summary_tokens")));
            Eq(rp + ".summary_truncated", r.SummaryTruncated, (bool)res.Get("summary_truncated"));
            var qv = res.Obj("quals");
            foreach (var v in PairScore.Variants)
            {
                double? mine = PairScore.Quals(r.Pairs, v);
                object exp = qv.Get(v);
                if (exp == null || mine == null) Eq(rp + ".quals." + v, mine.HasValue ? "number" : "null", exp == null ? "null" : "number");
                else Close(rp + ".quals." + v, mine.Value, exp, true);
            }
            var verdicts = run.Obj("verdicts");
            if (verdicts != null && q.Calibration != null)
            {
                int n0 = checks;
                verdictClose = true;
                try { CheckVerdicts(path + ".verdicts", q, c, r, verdicts); }
                finally { verdictClose = false; }
                verdictChecks += checks - n0;
            }
            else if (verdicts != null || q.Calibration != null)
                Eq(path + ".verdicts", q.Calibration == null ? "absent" : "present", verdicts == null ? "absent" : "present");
        }

        /// <summary>The verdict mode's steps of one run (Python: quals.tasks.conformance._verdicts).</summary>
        void CheckVerdicts(string p, Scorer q, JsonObject c, Result r, JsonObject v)
        {
            var cal = q.Calibration;
            // the summary as the scorer read it: stripped, unless the record was refused before (Python's _prepare)
            string raw = c.Str("summary"), src = c.Str("source");
            string summary = raw == null ? "" : Unicode.PyStrip(raw).Length == 0 || src == null || Unicode.PyStrip(src).Length == 0 ? raw : Unicode.PyStrip(raw);
            var facts = summary.Length > 0 ? Facts.Find(summary, cal.CommonWords) : new List<Fact>();
            var ef = v.Arr("facts");
            Eq(p + ".facts.length", facts.Count, ef.Count);
            for (int i = 0; i < Math.Min(facts.Count, ef.Count); i++)
            {
                var e = (JsonObject)ef[i];
                string fp = p + ".facts[" + i + "]";
                Eq(fp + ".start", (long)facts[i].Start, Json.ToLong(e.Get("start")));
                Eq(fp + ".end", (long)facts[i].End, Json.ToLong(e.Get("end")));
                Eq(fp + ".kind", facts[i].Kind, e.Str("kind"));
                Eq(fp + ".text", facts[i].Text, e.Str("text"));
            }
            var ec = v.Arr("coverage");
            Eq(p + ".coverage.length", r.CoverageTargets.Count, ec.Count);
            for (int i = 0; i < Math.Min(Math.Min(r.CoverageTargets.Count, ec.Count), r.Coverage.Count); i++)
            {
                var t = r.CoverageTargets[i];
                var s = r.Coverage[i];
                var e = (JsonObject)ec[i];
                string cp = p + ".coverage[" + i + "]";
                Eq(cp + ".question", t.Question, e.Str("question"));
                Eq(cp + ".answer", t.Answer, e.Str("answer"));
                Ints(cp + ".fact", new[] { t.Fact.Start, t.Fact.End }, e.Get("fact"));
                Ints(cp + ".tokens", t.Tokens, e.Get("tokens"));
                Eq(cp + ".sep_index", (long)t.SepIndex, Json.ToLong(e.Get("sep_index")));
                Ints(cp + ".answer_index", s.AnswerIndex, e.Get("answer_index"));
                Floats(cp + ".logp_source", s.LogpSource, e.Get("logp_source"), false);
                Floats(cp + ".logp_summary", s.LogpSummary, e.Get("logp_summary"), false);
            }
            var scored = new List<PairScore>(r.Pairs);
            scored.AddRange(r.Coverage);
            var ep = v.Arr("pairs");
            Eq(p + ".pairs.length", scored.Count, ep.Count);
            for (int i = 0; i < Math.Min(Math.Min(scored.Count, ep.Count), r.Evidence.Count); i++)
            {
                var e = (JsonObject)ep[i];
                string pp = p + ".pairs[" + i + "]";
                var ef2 = e.Obj("features");
                foreach (var f in cal.Features) Close(pp + ".features." + f, Verdicts.Feature(f, r.Evidence[i]), ef2.Get(f), false);
                Close(pp + ".logit", cal.PairLogit(r.Evidence[i]), e.Get("logit"), false);
                if (scored[i].PSupported == null || e.Get("p_supported") == null)
                    Eq(pp + ".p_supported", scored[i].PSupported == null ? "null" : "number", e.Get("p_supported") == null ? "null" : "number");
                else Close(pp + ".p_supported", scored[i].PSupported.Value, e.Get("p_supported"), false);
                Eq(pp + ".verdict", scored[i].Verdict, e.Str("verdict"));
            }
            Eq(p + ".verdict", r.Verdict, v.Str("verdict"));
            if (r.PConsistent == null || v.Get("p_consistent") == null)
                Eq(p + ".p_consistent", r.PConsistent == null ? "null" : "number", v.Get("p_consistent") == null ? "null" : "number");
            else Close(p + ".p_consistent", r.PConsistent.Value, v.Get("p_consistent"), false);
            var eu = v.Arr("unsupported");
            if (r.Unsupported == null || eu == null)
            {
                Eq(p + ".unsupported", r.Unsupported == null ? "null" : "list", eu == null ? "null" : "list");
                return;
            }
            Eq(p + ".unsupported.length", r.Unsupported.Count, eu.Count);
            for (int i = 0; i < Math.Min(r.Unsupported.Count, eu.Count); i++)
            {
                var u = r.Unsupported[i];
                var e = (JsonObject)eu[i];
                string up = p + ".unsupported[" + i + "]";
                Eq(up + ".question", u.Question, e.Str("question"));
                Eq(up + ".answer", u.Answer, e.Str("answer"));
                Eq(up + ".span", u.Span == null ? "null" : "[" + u.Span[0] + "," + u.Span[1] + "]",
                   e.Get("span") == null ? "null" : "[" + string.Join(",", Json.ToIntArray(e.Get("span"))) + "]");
            }
        }
    }
}
