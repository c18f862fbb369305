// Decoders: token strings back to text (HF tokenizers' decode_chain, then joined).
using System.Collections.Generic;
using System.Text;

namespace Quals.Tokenizers
{
    public interface IDecoder
    {
        string Decode(List<string> tokens);
    }

    public sealed class WordPieceDecoder : IDecoder
    {
        readonly string prefix;
        readonly bool cleanup;

        public WordPieceDecoder(string prefix, bool cleanup) { this.prefix = prefix; this.cleanup = cleanup; }

        public string Decode(List<string> tokens)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < tokens.Count; i++)
            {
                string t = tokens[i];
                if (i != 0)
                {
                    if (t.StartsWith(prefix, System.StringComparison.Ordinal)) t = t.Substring(prefix.Length);
                    else t = " " + t;
                }
                if (cleanup) t = Cleanup(t);
                sb.Append(t);
            }
            return sb.ToString();
        }

        /// <summary>HF's wordpiece cleanup, applied to each token on its own (as HF does).</summary>
        public static string Cleanup(string s)
        {
            return s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
                    .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" do not", " don't").Replace(" 's", "'s")
                    .Replace(" 've", "'ve").Replace(" 're", "'re");
        }
    }

    public sealed class ByteLevelDecoder : IDecoder
    {
        public string Decode(List<string> tokens)
        {
            var bytes = new List<byte>();
            foreach (var t in tokens)
            {
                bool all = true;
                foreach (char c in t) if (!ByteMap.CharToByte.ContainsKey(c)) { all = false; break; }
                if (all) foreach (char c in t) bytes.Add(ByteMap.CharToByte[c]);
                else bytes.AddRange(Encoding.UTF8.GetBytes(t));
            }
            return Utf8Lossy(bytes.ToArray());
        }

        /// <summary>Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD.</summary>
        public static string Utf8Lossy(byte[] b)
        {
            var sb = new StringBuilder(b.Length);
            int i = 0, n = b.Length;
            while (i < n)
            {
                int c = b[i];
                if (c < 0x80) { sb.Append((char)c); i++; continue; }
                int need, cp, lo = 0x80, hi = 0xBF;
                if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
                else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; if (c == 0xE0) lo = 0xA0; else if (c == 0xED) hi = 0x9F; }
                else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; if (c == 0xF0) lo = 0x90; else if (c == 0xF4) hi = 0x8F; }
                else { sb.Append('\uFFFD'); i++; continue; }
                int j = i + 1, k = 0;
                for (; k < need && j < n; k++, j++)
                {
                    int cc = b[j];
                    if (cc < lo || cc > hi) break;
                    lo = 0x80; hi = 0xBF;
                    cp = (cp << 6) | (cc & 0x3F);
                }
                if (k < need) { sb.Append('\uFFFD'); i = j; continue; }
                Unicode.Append(sb, cp);
                i = j;
            }
            return sb.ToString();
        }
    }

    public sealed class MetaspaceDecoder : IDecoder
    {
        readonly char replacement;
        readonly bool prepend;

        public MetaspaceDecoder(char replacement, bool prepend) { this.replacement = replacement; this.prepend = prepend; }

        public string Decode(List<string> tokens)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < tokens.Count; i++)
            {
                foreach (char c in tokens[i])
                {
                    if (c == replacement) { if (!(i == 0 && prepend)) sb.Append(' '); }
                    else sb.Append(c);
                }
            }
            return sb.ToString();
        }
    }
}
