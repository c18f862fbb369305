// Scorer: load a bundle once, then score (source, summary) records (runtime/quals/scorer.py).
// Per record: encode the summary, diverse beam search, parse and select QA pairs, teacher-force them on
// the summary and on the source, then the score. A record that cannot be scored gets status "error".
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Quals.Native;
using Quals.Search;
using Quals.Tokenizers;

namespace Quals
{
    /// <summary>Everything that changes the number besides the bundle; defaults come from the manifest.</summary>
    public sealed class QualsOptions
    {
        public SearchOptions Search = new SearchOptions();
        public string Variant = "paper";
        public int MaxPairs = 10;
        public int? MaxSourceTokens = null; // null: the manifest's limit
        public int RescoreRows = 64;

        public QualsOptions Clone() { var o = (QualsOptions)MemberwiseClone(); o.Search = Search.Clone(); return o; }

        public void Validate()
        {
            Search.Validate();
            if (Array.IndexOf(PairScore.Variants, Variant) < 0) throw new OptionsException("unknown variant '" + Variant + "'; choose one of paper, clean, ans_lm");
            if (MaxPairs < 1) throw new OptionsException("max_pairs must be >= 1");
            if (MaxSourceTokens.HasValue && MaxSourceTokens.Value < 1) throw new OptionsException("max_source_tokens must be >= 1");
        }
    }

    /// <summary>Overrides of the manifest's defaults; null fields keep the default (runtime/quals/options.py default_options).</summary>
    public sealed class OptionOverrides
    {
        public string Search, Variant;
        public int? NumBeams, NumGroups, MinLength, MaxLength, MaxPairs, MaxSourceTokens;
        public double? Diversity, LengthPenalty;
    }

    public sealed class Result
    {
        public double? Quals;
        public string Status;
        public int NPairs;
        public string Error;
        public string Variant = "paper";
        public int NHypotheses, NSpanValid, SourceTokens, SummaryTokens;
        public bool SourceTruncated, SummaryTruncated;
        public List<PairScore> Pairs = new List<PairScore>();
        // the verdict mode (Verdict.cs): null without a calibration, or without a score
        public string Verdict;
        public double? PConsistent;
        public List<UnsupportedFact> Unsupported;
        public List<PairScore> Coverage = new List<PairScore>(); // judged, never in quals
        // what the pipeline went through, for conformance checks
        public List<CoverageTarget> CoverageTargets = new List<CoverageTarget>();
        public List<PairEvidence> Evidence = new List<PairEvidence>(); // the selected pairs', then the coverage pairs'
        public List<Hypothesis> Hypotheses = new List<Hypothesis>();
        public List<QaPair> SpanValid = new List<QaPair>(), Selected = new List<QaPair>();

        public const string Ok = "ok", NoPairs = "no_qa_pairs", ErrorStatus = "error";

        public JsonObject ToJson(bool details = false)
        {
            var d = new JsonObject();
            d.Add("quals", Quals);
            d.Add("n_pairs", NPairs);
            d.Add("status", Status);
            d.Add("variant", Variant);
            d.Add("n_hypotheses", NHypotheses);
            d.Add("n_span_valid", NSpanValid);
            d.Add("source_tokens", SourceTokens);
            d.Add("source_truncated", SourceTruncated);
            d.Add("summary_tokens", SummaryTokens);
            d.Add("summary_truncated", SummaryTruncated);
            d.Add("verdict", Verdict);
            d.Add("p_consistent", PConsistent);
            d.Add("unsupported", Unsupported == null ? null : Unsupported.ConvertAll(u => (object)u.ToJson()));
            if (Error != null) d.Add("error", Error);
            if (details)
            {
                d.Add("pairs", PairsJson(Pairs));
                d.Add("coverage_pairs", PairsJson(Coverage));
            }
            return d;
        }

        static List<object> PairsJson(List<PairScore> pairs)
        {
            var ps = new List<object>();
            foreach (var p in pairs)
            {
                var o = new JsonObject();
                o.Add("question", p.Question); o.Add("answer", p.Answer); o.Add("tokens", p.Tokens);
                o.Add("s_x", p.SX); o.Add("s_y", p.SY); o.Add("value", p.Value);
                o.Add("logp_source", p.LogpSource); o.Add("logp_summary", p.LogpSummary); o.Add("search_scores", p.SearchScores);
                o.Add("verdict", p.Verdict); o.Add("p_supported", p.PSupported);
                ps.Add(o);
            }
            return ps;
        }
    }

    public sealed class Scorer : IDisposable
    {
        public readonly Bundle Bundle;
        public readonly Manifest Manifest;
        public QualsOptions Options;
        readonly IOrtBackend ort;
        readonly bool ownsBackend;
        readonly Engine engine;
        /// <summary>Text to encoder ids and back (Python's Scorer.codec).</summary>
        public readonly TextCodec Codec;
        readonly HashSet<int> ignore;
        /// <summary>The verdict mode's calibration (null: off, or the bundle has none; the verdict fields stay null).</summary>
        public readonly Calibration Calibration;

        public Scorer(Bundle bundle, IOrtBackend backend, bool ownsBackend, int threads, QualsOptions options, bool verdicts = true)
        {
            Bundle = bundle;
            Manifest = bundle.Manifest;
            ort = backend;
            this.ownsBackend = ownsBackend;
            Codec = new TextCodec(Tokenizer.FromFile(bundle.File("tokenizer")), Manifest);
            Options = options ?? DefaultOptions(Manifest, null);
            Options.Validate();
            Calibration = verdicts ? Calibration.Load(bundle.Path, bundle.Digest) : null;
            engine = new Engine(bundle, backend, threads);
            ignore = new HashSet<int>(Manifest.AnsLmIgnoreIds) { Manifest.Tokens.Eos };
            if (Manifest.Tokens.Bos.HasValue) ignore.Add(Manifest.Tokens.Bos.Value);
        }

        /// <summary>Load a bundle (sha256-verified) with ONNX Runtime's C library from ortLibraryPath, else
        /// $QUALS_ONNXRUNTIME_LIB, else the onnxruntime Python wheel. threads: intra-op threads (0: ORT default).
        /// verdicts: false ignores the bundle's calibration.json (Python's QualsOptions.verdicts).</summary>
        public static Scorer Load(string bundlePath, string ortLibraryPath = null, int threads = 0, OptionOverrides overrides = null, bool verify = true,
                                  bool verdicts = true)
        {
            var bundle = Bundle.Load(bundlePath, verify);
            var options = DefaultOptions(bundle.Manifest, overrides);
            options.Validate();
            var backend = new OrtCApiBackend(OrtLibrary.Locate(ortLibraryPath, bundlePath));
            try { return new Scorer(bundle, backend, true, threads, options, verdicts); }
            catch { backend.Dispose(); throw; }
        }

        public void Dispose()
        {
            engine.Dispose();
            if (ownsBackend) ort.Dispose();
        }

        // ---- options (runtime/quals/options.py search_defaults / default_options) ----
        public static SearchOptions SearchDefaults(JsonObject defaults, string search)
        {
            string name = search ?? defaults.Str("search") ?? "hf";
            var block = defaults.Obj(name);
            var o = new SearchOptions { Search = name };
            var source = block ?? defaults;
            foreach (var kv in source)
            {
                if (kv.Value is JsonObject) continue;
                switch (kv.Key)
                {
                    case "num_beams": o.NumBeams = (int)Json.ToLong(kv.Value); break;
                    case "num_groups": o.NumGroups = (int)Json.ToLong(kv.Value); break;
                    case "diversity": o.Diversity = Json.ToDouble(kv.Value); break;
                    case "min_length": o.MinLength = (int)Json.ToLong(kv.Value); break;
                    case "max_length": o.MaxLength = (int)Json.ToLong(kv.Value); break;
                    case "length_penalty": o.LengthPenalty = Json.ToDouble(kv.Value); break;
                    case "num_return": o.NumReturn = kv.Value == null ? (int?)null : (int)Json.ToLong(kv.Value); break;
                    case "early_stopping": o.EarlyStopping = kv.Value; break;
                }
            }
            return o;
        }

        public static QualsOptions DefaultOptions(Manifest m, OptionOverrides ov)
        {
            var o = new QualsOptions { Search = SearchDefaults(m.SearchDefaults, null) };
            foreach (var kv in m.ScoreDefaults)
            {
                if (kv.Key == "variant") o.Variant = (string)kv.Value;
                else if (kv.Key == "max_pairs") o.MaxPairs = (int)Json.ToLong(kv.Value);
                else if (kv.Key == "max_source_tokens" && kv.Value != null) o.MaxSourceTokens = (int)Json.ToLong(kv.Value);
                else if (kv.Key == "rescore_rows") o.RescoreRows = (int)Json.ToLong(kv.Value);
            }
            if (ov == null) return o;
            // switching the search starts from the manifest's defaults for that search
            if (ov.Search != null && ov.Search != o.Search.Search) o.Search = SearchDefaults(m.SearchDefaults, ov.Search);
            var s = o.Search;
            if (ov.NumBeams.HasValue) s.NumBeams = ov.NumBeams.Value;
            if (ov.NumGroups.HasValue) s.NumGroups = ov.NumGroups.Value;
            if (ov.Diversity.HasValue) s.Diversity = ov.Diversity.Value;
            if (ov.MinLength.HasValue) s.MinLength = ov.MinLength.Value;
            if (ov.MaxLength.HasValue) s.MaxLength = ov.MaxLength.Value;
            if (ov.LengthPenalty.HasValue) s.LengthPenalty = ov.LengthPenalty.Value;
            if (ov.Variant != null) o.Variant = ov.Variant;
            if (ov.MaxPairs.HasValue) o.MaxPairs = ov.MaxPairs.Value;
            if (ov.MaxSourceTokens.HasValue) o.MaxSourceTokens = ov.MaxSourceTokens.Value;
            return o;
        }

        // ---- text (TextCodec) ----
        public List<int> TextIds(string text) { return Codec.TextIds(text); }
        public string Decode(IList<int> ids) { return Codec.Decode(ids); }
        public Encoded Encode(string text, int? maxTokens) { return Codec.Encode(text, maxTokens); }

        // ---- generation ----
        List<Hypothesis> RunSearch(EncoderOutput enc, SearchOptions so)
        {
            var t = Manifest.Tokens;
            using (var state = engine.Start(enc, so.NumBeams))
            {
                StepFn step = state.Step;
                return so.Search == "hf" ? HfSearch.Run(step, so, t.DecoderStart, t.Eos, t.Pad)
                                         : FairseqSearch.Run(step, so, t.DecoderStart, t.Eos, t.Pad);
            }
        }

        /// <summary>Hypotheses of the search on text (stripped, encoded as the manifest says).</summary>
        public List<Hypothesis> Generate(string text, QualsOptions options = null)
        {
            var o = options ?? Options;
            text = Unicode.PyStrip(text);
            if (text.Length == 0) throw new InputException("text is empty");
            using (var enc = engine.Encode(Encode(text, o.MaxSourceTokens).Ids)) return RunSearch(enc, o.Search);
        }

        // ---- scoring ----
        public Result Score(string source, string summary) { return Score(source, summary, Options); }

        public Result Score(string source, string summary, QualsOptions o)
        {
            o.Validate();
            if (source == null || summary == null) return Error("source and summary must be strings", o);
            summary = Unicode.PyStrip(summary);
            source = Unicode.PyStrip(source);
            if (summary.Length == 0) return Error("summary is empty", o);
            if (source.Length == 0) return Error("source is empty", o);
            var r = new Result { Variant = o.Variant };
            try
            {
                Encoded summ = Encode(summary, o.MaxSourceTokens);
                List<float[]> logpSummary;
                List<float[]> coverageSummary = null;
                using (var enc = engine.Encode(summ.Ids))
                {
                    r.Hypotheses = RunSearch(enc, o.Search);
                    string view = Codec.Roundtrip(summary);
                    foreach (var h in r.Hypotheses)
                    {
                        var p = QaPairs.Parse(h, Manifest.SeparatorId, Manifest.Tokens.Eos, Decode);
                        if (p != null && QaPairs.AnswerInSummary(p.Answer, summary, view)) r.SpanValid.Add(p);
                    }
                    r.Selected = QaPairs.Select(r.SpanValid, o.MaxPairs);
                    logpSummary = r.Selected.Count == 0 ? new List<float[]>()
                        : engine.TeacherForced(enc, r.Selected.ConvertAll(p => p.Tokens), o.RescoreRows);
                    if (Calibration != null && r.Selected.Count > 0)
                    {
                        r.CoverageTargets = Quals.Coverage.Targets(summary, r.Selected.ConvertAll(p => p.Answer), Codec, Manifest.SeparatorId,
                                                                   Manifest.Tokens.Eos, Calibration.CommonWords);
                        if (r.CoverageTargets.Count > 0) // calls of their own: the selected pairs' calls stay as they were
                            coverageSummary = engine.TeacherForced(enc, r.CoverageTargets.ConvertAll(c => c.Tokens), o.RescoreRows);
                    }
                }
                Encoded src = Encode(source, o.MaxSourceTokens);
                r.NHypotheses = r.Hypotheses.Count;
                r.NSpanValid = r.SpanValid.Count;
                r.SourceTokens = src.NTextTokens; r.SourceTruncated = src.Truncated;
                r.SummaryTokens = summ.NTextTokens; r.SummaryTruncated = summ.Truncated;
                if (r.Selected.Count > 0)
                {
                    List<float[]> logpSource, coverageSource = null;
                    using (var enc = engine.Encode(src.Ids))
                    {
                        logpSource = engine.TeacherForced(enc, r.Selected.ConvertAll(p => p.Tokens), o.RescoreRows);
                        if (r.CoverageTargets.Count > 0)
                            coverageSource = engine.TeacherForced(enc, r.CoverageTargets.ConvertAll(c => c.Tokens), o.RescoreRows);
                    }
                    for (int i = 0; i < r.Selected.Count; i++)
                        r.Pairs.Add(PairScore.Compute(r.Selected[i], logpSource[i], logpSummary[i], o.Variant, ignore));
                    for (int i = 0; i < r.CoverageTargets.Count; i++)
                        r.Coverage.Add(CoverageScore(r.CoverageTargets[i], coverageSource[i], coverageSummary[i]));
                    if (Calibration != null) Judge(r, source, summary);
                }
                r.NPairs = r.Pairs.Count;
                r.Quals = PairScore.Quals(r.Pairs, o.Variant);
                r.Status = r.Pairs.Count > 0 ? Result.Ok : Result.NoPairs;
                return r;
            }
            catch (Exception e) when (!(e is OutOfMemoryException))
            {
                // one record's failure must not lose the others
                return Error(e.GetType().Name + ": " + e.Message, o);
            }
        }

        /// <summary>A coverage pair as a PairScore: no search wrote it, so its summary side is the teacher-forced
        /// one (the clean variant's term; search_scores holds the same log-probs).</summary>
        PairScore CoverageScore(CoverageTarget c, float[] logpSource, float[] logpSummary)
        {
            int T = c.Tokens.Length;
            if (logpSource.Length != T || logpSummary.Length != T) throw new ArgumentException("per-token arrays must all have one entry per token");
            var p = new PairScore { Question = c.Question, Answer = c.Answer, Tokens = c.Tokens };
            p.LogpSource = new double[T]; p.LogpSummary = new double[T]; p.SearchScores = new double[T];
            for (int i = 0; i < T; i++) { p.LogpSource[i] = logpSource[i]; p.LogpSummary[i] = p.SearchScores[i] = logpSummary[i]; }
            var idx = new List<int>();
            for (int i = c.SepIndex + 1; i < T - 1; i++) if (!ignore.Contains(c.Tokens[i])) idx.Add(i);
            p.AnswerIndex = idx.ToArray();
            p.SX = NumpyMath.Mean(p.LogpSource);
            p.SY = NumpyMath.Mean(p.LogpSummary);
            p.Value = p.SX - p.SY;
            return p;
        }

        /// <summary>The verdict mode's fields of r (Verdict.cs): the selected pairs and the coverage pairs judged
        /// together. source, summary: stripped.</summary>
        void Judge(Result r, string source, string summary)
        {
            if (r.Pairs.Count == 0) return;
            var text = SourceText.Of(source, Codec.Roundtrip(source));
            var all = new List<PairScore>(r.Pairs);
            all.AddRange(r.Coverage);
            r.Evidence = new List<PairEvidence>();
            for (int i = 0; i < all.Count; i++)
            {
                bool selected = i < r.Pairs.Count;
                int sep; string answer;
                if (selected)
                {
                    var p = r.Selected[i];
                    sep = p.SepIndex;
                    answer = Decode(new ArraySegment<int>(p.Tokens, sep + 1, p.AnswerEnd - sep - 1));
                }
                else
                {
                    var c = r.CoverageTargets[i - r.Pairs.Count];
                    sep = c.SepIndex; answer = c.Answer;
                }
                var q = new int[sep];
                for (int k = 0; k < sep; k++) q[k] = k;
                r.Evidence.Add(new PairEvidence { LogpSource = all[i].LogpSource, LogpSummary = all[i].LogpSummary,
                    SearchScores = all[i].SearchScores, QuestionIndex = q, AnswerIndex = all[i].AnswerIndex,
                    Answer = Unicode.PyLower(answer), Source = text });
            }
            var j = Calibration.Judge(r.Evidence);
            r.Verdict = j.Verdict;
            r.PConsistent = j.PConsistent;
            r.Unsupported = new List<UnsupportedFact>();
            for (int i = 0; i < all.Count; i++)
            {
                all[i].PSupported = j.Pairs[i].PSupported;
                all[i].Verdict = j.Pairs[i].Verdict;
                if (all[i].Verdict != "unsupported") continue;
                if (i < r.Pairs.Count)
                {
                    // a selected pair as people read it (Python's Result pairs, quals.readable), its answer's span
                    var t = Readable.PairText(all[i].Question, all[i].Answer, summary);
                    r.Unsupported.Add(new UnsupportedFact { Question = t[0], Answer = t[1], Span = AnswerSpan(t[1], summary) });
                }
                else
                {
                    var f = r.CoverageTargets[i - r.Pairs.Count].Fact;
                    r.Unsupported.Add(new UnsupportedFact { Question = all[i].Question, Answer = all[i].Answer, Span = new[] { f.Start, f.End } });
                }
            }
        }

        /// <summary>Where summary states answer (its first occurrence, ignoring case): [start, end) in code points,
        /// or null (runtime/quals/qa.py answer_span).</summary>
        public static int[] AnswerSpan(string answer, string summary)
        {
            if (answer.Length == 0) return null;
            string lowS = Unicode.PyLower(summary), lowA = Unicode.PyLower(answer);
            int i;
            if (PyRe.CodePoints(lowS) == PyRe.CodePoints(summary) && PyRe.CodePoints(lowA) == PyRe.CodePoints(answer))
            {
                i = lowS.IndexOf(lowA, StringComparison.Ordinal);
                if (i >= 0) i = PyRe.CodePoints(lowS, i);
            }
            else
            {
                i = summary.IndexOf(answer, StringComparison.Ordinal);
                if (i >= 0) i = PyRe.CodePoints(summary, i);
            }
            return i < 0 ? null : new[] { i, i + PyRe.CodePoints(answer) };
        }

        static Result Error(string message, QualsOptions o)
        {
            return new Result { Quals = null, Status = Result.ErrorStatus, Error = message, Variant = o.Variant };
        }

        /// <summary>Every knob that changes the number, sacrebleu style (runtime/quals/signature.py).</summary>
        public string Signature()
        {
            var s = Options.Search;
            var c = CultureInfo.InvariantCulture;
            return string.Join("|", new[] {
                "quals", "bundle:" + Bundle.Digest.Substring(0, 12), "search:" + s.Search, "beams:" + s.NumBeams, "groups:" + s.NumGroups,
                "div:" + s.Diversity.ToString("G", c), "len:" + s.MinLength + "-" + s.MaxLength, "lp:" + s.LengthPenalty.ToString("G", c),
                "variant:" + Options.Variant, "pairs:" + Options.MaxPairs, "src:" + (Options.MaxSourceTokens ?? Manifest.MaxSourceTokens),
                // the verdicts' calibration, when the bundle has one
                Calibration != null ? "cal:" + Calibration.Id.Substring(0, 12) : null,
                "ep:cpu", "host:csharp" }.Where(x => x != null));
        }
    }
}
