// A tokenizer.json reader and runner for the components quals bundles use. Anything else is refused at
// load with a message naming the component, never approximated.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Quals.Tokenizers
{
    public sealed class Tokenizer
    {
        sealed class AddedToken { public string Content; public int Id; public bool Special; }

        readonly List<AddedToken> added = new List<AddedToken>();
        readonly Dictionary<int, AddedToken> addedById = new Dictionary<int, AddedToken>();
        readonly HashSet<string> specialContents = new HashSet<string>();
        readonly INormalizer normalizer;
        readonly IPreTokenizer preTokenizer;
        readonly IModel model;
        readonly IDecoder decoder;

        Tokenizer(INormalizer n, IPreTokenizer p, IModel m, IDecoder d) { normalizer = n; preTokenizer = p; model = m; decoder = d; }

        public static Tokenizer FromFile(string path)
        {
            JsonObject j;
            try { j = Json.Parse(File.ReadAllText(path, new UTF8Encoding(false, true))) as JsonObject; }
            catch (Exception e) when (e is FormatException || e is DecoderFallbackException || e is IOException)
            {
                throw new BundleException(path + ": cannot load tokenizer (" + e.Message + ")", e);
            }
            if (j == null) throw new BundleException(path + ": cannot load tokenizer (not a JSON object)");
            try { return Build(j); }
            catch (BundleException e) { throw new BundleException(path + ": " + e.Message, e); }
            catch (Exception e) when (e is InvalidCastException || e is FormatException || e is NullReferenceException)
            {
                throw new BundleException(path + ": malformed tokenizer.json (" + e.Message + ")", e);
            }
        }

        static Tokenizer Build(JsonObject j)
        {
            if (j.Get("truncation") != null) throw new BundleException("unsupported tokenizer: truncation is set in tokenizer.json");
            if (j.Get("padding") != null) throw new BundleException("unsupported tokenizer: padding is set in tokenizer.json");
            var t = new Tokenizer(Normalizer(j.Obj("normalizer")), PreTokenizer(j.Obj("pre_tokenizer")), Model(j.Obj("model")), Decoder(j.Obj("decoder")));
            var list = j.Arr("added_tokens") ?? new List<object>();
            foreach (JsonObject a in list)
            {
                var tok = new AddedToken { Content = a.Str("content"), Id = (int)Json.ToLong(a.Get("id")), Special = true.Equals(a.Get("special")) };
                foreach (var flag in new[] { "single_word", "lstrip", "rstrip", "normalized" })
                    if (true.Equals(a.Get(flag)))
                        throw new BundleException("unsupported tokenizer: added token '" + tok.Content + "' has " + flag + "=true");
                t.added.Add(tok);
                t.addedById[tok.Id] = tok;
                if (tok.Special) t.specialContents.Add(tok.Content);
            }
            // leftmost-longest matching: try longer tokens first at each position
            t.added.Sort((x, y) => y.Content.Length.CompareTo(x.Content.Length));
            return t;
        }

        static bool Flag(JsonObject o, string key, bool dflt) { object v = o.Get(key); return v is bool ? (bool)v : dflt; }

        static INormalizer Normalizer(JsonObject o)
        {
            if (o == null) return null;
            string type = o.Str("type");
            switch (type)
            {
                case "BertNormalizer":
                    object sa = o.Get("strip_accents");
                    return new BertNormalizer(Flag(o, "clean_text", true), Flag(o, "handle_chinese_chars", true), sa is bool ? (bool?)(bool)sa : null, Flag(o, "lowercase", true));
                case "NFKC":
                    return new NfkcNormalizer();
                default:
                    throw new BundleException("unsupported tokenizer: normalizer '" + type + "' is not implemented by the C# host");
            }
        }

        static IPreTokenizer PreTokenizer(JsonObject o)
        {
            if (o == null) throw new BundleException("unsupported tokenizer: no pre_tokenizer (not implemented by the C# host)");
            string type = o.Str("type");
            switch (type)
            {
                case "BertPreTokenizer":
                    return new BertPreTokenizer();
                case "ByteLevel":
                    if (!Flag(o, "use_regex", true)) throw new BundleException("unsupported tokenizer: ByteLevel pre_tokenizer with use_regex=false");
                    return new ByteLevelPreTokenizer(Flag(o, "add_prefix_space", false));
                case "Metaspace":
                    return new MetaspacePreTokenizer(Replacement(o), PrependScheme(o), Flag(o, "split", true));
                default:
                    throw new BundleException("unsupported tokenizer: pre_tokenizer '" + type + "' is not implemented by the C# host");
            }
        }

        static char Replacement(JsonObject o)
        {
            string r = o.Str("replacement") ?? "\u2581";
            if (r.Length != 1) throw new BundleException("unsupported tokenizer: Metaspace replacement '" + r + "'");
            return r[0];
        }

        static string PrependScheme(JsonObject o)
        {
            string s = o.Str("prepend_scheme");
            if (s == null) s = Flag(o, "add_prefix_space", true) ? "always" : "never";
            if (s != "always" && s != "first" && s != "never") throw new BundleException("unsupported tokenizer: Metaspace prepend_scheme '" + s + "'");
            return s;
        }

        static IModel Model(JsonObject o)
        {
            if (o == null) throw new BundleException("unsupported tokenizer: no model");
            string type = o.Str("type");
            switch (type)
            {
                case "WordPiece":
                    return new WordPieceModel(Vocab(o.Obj("vocab")), o.Str("unk_token") ?? "[UNK]", o.Str("continuing_subword_prefix") ?? "##",
                        o.Get("max_input_chars_per_word") == null ? 100 : (int)Json.ToLong(o.Get("max_input_chars_per_word")));
                case "BPE":
                    foreach (var k in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
                        if (!string.IsNullOrEmpty(o.Str(k))) throw new BundleException("unsupported tokenizer: BPE with " + k);
                    if (o.Get("dropout") != null && Json.ToDouble(o.Get("dropout")) != 0) throw new BundleException("unsupported tokenizer: BPE with dropout");
                    if (Flag(o, "byte_fallback", false)) throw new BundleException("unsupported tokenizer: BPE with byte_fallback");
                    if (Flag(o, "ignore_merges", false)) throw new BundleException("unsupported tokenizer: BPE with ignore_merges");
                    var merges = new List<KeyValuePair<string, string>>();
                    foreach (var m in o.Arr("merges"))
                    {
                        var pair = m as List<object>;
                        if (pair != null) merges.Add(new KeyValuePair<string, string>((string)pair[0], (string)pair[1]));
                        else
                        {
                            string s = (string)m;
                            int sp = s.IndexOf(' ');
                            merges.Add(new KeyValuePair<string, string>(s.Substring(0, sp), s.Substring(sp + 1)));
                        }
                    }
                    return new BpeModel(Vocab(o.Obj("vocab")), merges, o.Str("unk_token"));
                case "Unigram":
                    if (Flag(o, "byte_fallback", false)) throw new BundleException("unsupported tokenizer: Unigram with byte_fallback");
                    var vocab = new List<KeyValuePair<string, double>>();
                    foreach (List<object> e in o.Arr("vocab")) vocab.Add(new KeyValuePair<string, double>((string)e[0], Json.ToDouble(e[1])));
                    if (o.Get("unk_id") == null) throw new BundleException("unsupported tokenizer: Unigram without unk_id");
                    return new UnigramModel(vocab, (int)Json.ToLong(o.Get("unk_id")));
                default:
                    throw new BundleException("unsupported tokenizer: model '" + type + "' is not implemented by the C# host");
            }
        }

        static Dictionary<string, int> Vocab(JsonObject o)
        {
            var d = new Dictionary<string, int>(o.Count);
            foreach (var kv in o) d[kv.Key] = (int)Json.ToLong(kv.Value);
            return d;
        }

        static IDecoder Decoder(JsonObject o)
        {
            if (o == null) throw new BundleException("unsupported tokenizer: no decoder (not implemented by the C# host)");
            string type = o.Str("type");
            switch (type)
            {
                case "WordPiece":
                    return new WordPieceDecoder(o.Str("prefix") ?? "##", Flag(o, "cleanup", true));
                case "ByteLevel":
                    return new ByteLevelDecoder();
                case "Metaspace":
                    return new MetaspaceDecoder(Replacement(o), PrependScheme(o) != "never");
                default:
                    throw new BundleException("unsupported tokenizer: decoder '" + type + "' is not implemented by the C# host");
            }
        }

        /// <summary>encode(text, add_special_tokens=False).ids</summary>
        public List<int> Encode(string text)
        {
            var ids = new List<int>();
            var words = new List<string>();
            int segStart = 0, i = 0;
            bool first = true;
            while (i < text.Length)
            {
                AddedToken hit = null;
                if (added.Count > 0)
                    foreach (var a in added)
                        if (a.Content.Length > 0 && string.CompareOrdinal(text, i, a.Content, 0, a.Content.Length) == 0) { hit = a; break; }
                if (hit == null) { i++; continue; }
                EncodeSegment(text.Substring(segStart, i - segStart), first, ids, words);
                first = false;
                ids.Add(hit.Id);
                i += hit.Content.Length;
                segStart = i;
            }
            EncodeSegment(text.Substring(segStart), first, ids, words);
            return ids;
        }

        void EncodeSegment(string seg, bool atStart, List<int> ids, List<string> words)
        {
            if (seg.Length == 0) return;
            string norm = normalizer == null ? seg : normalizer.Normalize(seg);
            if (norm.Length == 0) return;
            words.Clear();
            var ms = preTokenizer as MetaspacePreTokenizer;
            if (ms != null) ms.Split(norm, atStart, words); else preTokenizer.Split(norm, words);
            foreach (var w in words) if (w.Length > 0) model.Tokenize(w, ids);
        }

        /// <summary>decode(ids, skip_special_tokens)</summary>
        public string Decode(IList<int> ids, bool skipSpecial = true)
        {
            var tokens = new List<string>(ids.Count);
            foreach (int id in ids)
            {
                AddedToken a;
                string tok = addedById.TryGetValue(id, out a) ? a.Content : model.IdToToken(id);
                if (tok == null) continue;
                if (skipSpecial && specialContents.Contains(tok)) continue;
                tokens.Add(tok);
            }
            return decoder.Decode(tokens);
        }
    }
}
