// The model bundle and its manifest quals.json (runtime/quals/bundle.py): every file listed with its sha256;
// a missing or modified file is refused with a message naming it.
using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace Quals
{
    public sealed class SpecialTokens
    {
        public int Pad, Eos, DecoderStart;
        public int? Bos, Unk;
    }

    public sealed class Manifest
    {
        public const string FileName = "quals.json";
        public const string FormatName = "quals-bundle";
        public const int FormatVersion = 1;

        public string Family, ModelType;
        public Dictionary<string, string> Files = new Dictionary<string, string>();
        public Dictionary<string, string> Sha256 = new Dictionary<string, string>();
        public SpecialTokens Tokens = new SpecialTokens();
        public int SeparatorId;
        public string SeparatorText;
        public bool PrependBos, AppendEos;
        public int MaxSourceTokens;
        public int NumLayers, NumHeads, HeadDim, HiddenSize, VocabSize;
        public string PastInput = "past_key_values.{layer}.{side}.{kv}";
        public string PresentOutput = "present.{layer}.{side}.{kv}";
        public string UseCacheBranch = "use_cache_branch";
        public JsonObject SearchDefaults = new JsonObject();
        public JsonObject ScoreDefaults = new JsonObject();
        public int[] AnsLmIgnoreIds = new int[0];

        public bool MergedDecoder { get { return Files.ContainsKey("decoder_merged"); } }

        public static Manifest FromJson(JsonObject d)
        {
            if (d.Str("format") != FormatName)
                throw new BundleException(FileName + ": not a quals bundle manifest (format=" + Repr(d.Get("format")) + ")");
            object fv = d.Get("format_version");
            if (!(fv is long) || (long)fv != FormatVersion)
                throw new BundleException(FileName + ": format_version " + Repr(fv) + " is not supported by this host (it reads version "
                    + FormatVersion + "); re-export the model or upgrade the host");
            try
            {
                var m = new Manifest();
                m.Family = Need(d, "family") as string;
                m.ModelType = Need(d, "model_type") as string;
                foreach (var kv in (JsonObject)Need(d, "files")) m.Files[kv.Key] = (string)kv.Value;
                foreach (var kv in (JsonObject)Need(d, "sha256")) m.Sha256[kv.Key] = (string)kv.Value;
                var t = (JsonObject)Need(d, "tokens");
                m.Tokens.Pad = (int)Json.ToLong(Need(t, "pad"));
                m.Tokens.Eos = (int)Json.ToLong(Need(t, "eos"));
                m.Tokens.DecoderStart = (int)Json.ToLong(Need(t, "decoder_start"));
                m.Tokens.Bos = t.Get("bos") == null ? (int?)null : (int)Json.ToLong(t.Get("bos"));
                m.Tokens.Unk = t.Get("unk") == null ? (int?)null : (int)Json.ToLong(t.Get("unk"));
                var sep = (JsonObject)Need(d, "separator");
                m.SeparatorId = (int)Json.ToLong(Need(sep, "id"));
                m.SeparatorText = (string)Need(sep, "text");
                var enc = (JsonObject)Need(d, "encoding");
                m.PrependBos = (bool)Need(enc, "prepend_bos");
                m.AppendEos = (bool)Need(enc, "append_eos");
                m.MaxSourceTokens = (int)Json.ToLong(Need(enc, "max_source_tokens"));
                var o = (JsonObject)Need(d, "onnx");
                m.NumLayers = (int)Json.ToLong(Need(o, "num_layers"));
                m.NumHeads = (int)Json.ToLong(Need(o, "num_heads"));
                m.HeadDim = (int)Json.ToLong(Need(o, "head_dim"));
                m.HiddenSize = (int)Json.ToLong(Need(o, "hidden_size"));
                m.VocabSize = (int)Json.ToLong(Need(o, "vocab_size"));
                if (o.Has("past_input")) m.PastInput = o.Str("past_input");
                if (o.Has("present_output")) m.PresentOutput = o.Str("present_output");
                if (o.Has("use_cache_branch")) m.UseCacheBranch = o.Str("use_cache_branch");
                if (d.Obj("search_defaults") != null) m.SearchDefaults = d.Obj("search_defaults");
                if (d.Obj("score_defaults") != null) m.ScoreDefaults = d.Obj("score_defaults");
                if (d.Has("ans_lm_ignore_ids")) m.AnsLmIgnoreIds = Json.ToIntArray(d.Get("ans_lm_ignore_ids"));
                return m;
            }
            catch (Exception e) when (e is InvalidCastException || e is FormatException || e is NullReferenceException || e is KeyNotFoundException)
            {
                throw new BundleException(FileName + ": malformed manifest (" + e.Message + ")", e);
            }
        }

        static object Need(JsonObject o, string key)
        {
            if (!o.Has(key)) throw new KeyNotFoundException("'" + key + "'");
            return o.Get(key);
        }

        static string Repr(object v) { return v == null ? "None" : v is string ? "'" + v + "'" : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture); }

        /// <summary>A past/present tensor name from the manifest's pattern.</summary>
        public static string Name(string pattern, int layer, string side, string kv)
        {
            return pattern.Replace("{layer}", layer.ToString(System.Globalization.CultureInfo.InvariantCulture))
                          .Replace("{side}", side).Replace("{kv}", kv);
        }
    }

    public sealed class Bundle
    {
        public readonly string Path;
        public readonly Manifest Manifest;

        Bundle(string path, Manifest manifest) { Path = path; Manifest = manifest; }

        public string File(string role) { return System.IO.Path.Combine(Path, Manifest.Files[role]); }

        /// <summary>The sha256 of the manifest (which holds every file's hash): a short id of the bundle.</summary>
        public string Digest { get { return Sha256Hex(System.IO.Path.Combine(Path, Manifest.FileName)); } }

        public static string Sha256Hex(string path)
        {
            using (var sha = SHA256.Create())
            using (var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            {
                byte[] h = sha.ComputeHash(f);
                var sb = new StringBuilder(64);
                foreach (byte b in h) sb.Append(b.ToString("x2"));
                return sb.ToString();
            }
        }

        public static Bundle Load(string path, bool verify = true)
        {
            if (!Directory.Exists(path))
            {
                if (System.IO.File.Exists(path)) throw new BundleException("model bundle must be a directory: " + path);
                throw new BundleException("model bundle not found: " + path);
            }
            string mpath = System.IO.Path.Combine(path, Manifest.FileName);
            if (!System.IO.File.Exists(mpath))
                throw new BundleException(mpath + ": missing manifest; is " + path + " a bundle made by `quals export`?");
            JsonObject data;
            try
            {
                data = Json.Parse(System.IO.File.ReadAllText(mpath, new UTF8Encoding(false, true))) as JsonObject;
                if (data == null) throw new FormatException("not a JSON object");
            }
            catch (Exception e) when (e is FormatException || e is DecoderFallbackException)
            {
                throw new BundleException(mpath + ": corrupt manifest (" + e.Message + ")", e);
            }
            var m = Manifest.FromJson(data);
            var roles = m.Files;
            bool complete = roles.ContainsKey("encoder") && roles.ContainsKey("tokenizer")
                && (roles.ContainsKey("decoder_merged") || (roles.ContainsKey("decoder") && roles.ContainsKey("decoder_with_past")));
            if (!complete)
            {
                var names = new List<string>(roles.Keys);
                names.Sort(StringComparer.Ordinal);
                throw new BundleException(mpath + ": the manifest lists no complete set of model files (has [" + string.Join(", ", names) + "])");
            }
            foreach (var kv in roles)
                if (!m.Sha256.ContainsKey(kv.Value))
                    throw new BundleException(mpath + ": no sha256 recorded for " + kv.Value + " (" + kv.Key + ")");
            foreach (var kv in m.Sha256)
            {
                string fpath = System.IO.Path.Combine(path, kv.Key);
                if (!System.IO.File.Exists(fpath)) throw new BundleException(fpath + ": file missing from the bundle");
                if (verify && Sha256Hex(fpath) != kv.Value)
                    throw new BundleException(fpath + ": sha256 mismatch, the file is corrupt or was modified");
            }
            return new Bundle(path, m);
        }
    }
}
