// Scorer: load a bundle once, then score (source, summary) records (runtime/quals/scorer.py).
// Per record: encode the summary, diverse beam search, parse and select QA pairs, teacher-force them on
// the summary and on the source, then the score. A record that cannot be scored gets status "error".
using System;
using System.Collections.Generic;
using System.Globalization;
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
        // what the pipeline went through, for conformance checks
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
            if (Error != null) d.Add("error", Error);
            if (details)
            {
                var ps = new List<object>();
                foreach (var p in Pairs)
                {
                    var o = new JsonObject();
                    o.Add("question", p.Question); o.Add("answer", p.Answer); o.Add("tokens", p.Tokens);
                    o.Add("s_x", p.SX); o.Add("s_y", p.SY); o.Add("value", p.Value);
                    o.Add("logp_source", p.LogpSource); o.Add("logp_summary", p.LogpSummary); o.Add("search_scores", p.SearchScores);
                    ps.Add(o);
                }
                d.Add("pairs", ps);
            }
            return d;
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

        public Scorer(Bundle bundle, IOrtBackend backend, bool ownsBackend, int threads, QualsOptions options)
        {
            Bundle = bundle;
            Manifest = bundle.Manifest;
            ort = backend;
            this.ownsBackend = ownsBackend;
            Codec = new TextCodec(Tokenizer.FromFile(bundle.File("tokenizer")), Manifest);
            Options = options ?? DefaultOptions(Manifest, null);
            Options.Validate();
            engine = new Engine(bundle, backend, threads);
            ignore = new HashSet<int>(Manifest.AnsLmIgnoreIds) { Manifest.Tokens.Eos };
            if (Manifest.Tokens.Bos.HasValue) ignore.Add(Manifest.Tokens.Bos.Value);
        }

        /// <summary>Load a bundle (sha256-verified) with ONNX Runtime's C library from ortLibraryPath, else
        /// $QUALS_ONNXRUNTIME_LIB, else the onnxruntime Python wheel. threads: intra-op threads (0: ORT default).</summary>
        public static Scorer Load(string bundlePath, string ortLibraryPath = null, int threads = 0, OptionOverrides overrides = null, bool verify = true)
        {
            var bundle = Bundle.Load(bundlePath, verify);
            var options = DefaultOptions(bundle.Manifest, overrides);
            options.Validate();
            var backend = new OrtCApiBackend(OrtLibrary.Locate(ortLibraryPath, bundlePath));
            try { return new Scorer(bundle, backend, true, threads, options); }
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
                }
                Encoded src = Encode(source, o.MaxSourceTokens);
                r.NHypotheses = r.Hypotheses.Count;
                r.NSpanValid = r.SpanValid.Count;
                r.SourceTokens = src.NTextTokens; r.SourceTruncated = src.Truncated;
                r.SummaryTokens = summ.NTextTokens; r.SummaryTruncated = summ.Truncated;
                if (r.Selected.Count > 0)
                {
                    List<float[]> logpSource;
                    using (var enc = engine.Encode(src.Ids))
                        logpSource = engine.TeacherForced(enc, r.Selected.ConvertAll(p => p.Tokens), o.RescoreRows);
                    for (int i = 0; i < r.Selected.Count; i++)
                        r.Pairs.Add(PairScore.Compute(r.Selected[i], logpSource[i], logpSummary[i], o.Variant, ignore));
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
                "ep:cpu", "host:csharp" });
        }
    }
}
