// Pre-tokenizers: split a normalized segment into words the model encodes one by one.
using System.Collections.Generic;
using System.Text;

namespace Quals.Tokenizers
{
    public interface IPreTokenizer
    {
        void Split(string text, List<string> words);
    }

    /// <summary>Whitespace removed, every punctuation character a word of its own (BertPreTokenizer).</summary>
    public sealed class BertPreTokenizer : IPreTokenizer
    {
        public void Split(string text, List<string> words)
        {
            var cur = new StringBuilder();
            foreach (int cp in Unicode.CodePoints(text))
            {
                if (Unicode.IsWhiteSpace(cp))
                {
                    if (cur.Length > 0) { words.Add(cur.ToString()); cur.Clear(); }
                }
                else if (IsBertPunctuation(cp))
                {
                    if (cur.Length > 0) { words.Add(cur.ToString()); cur.Clear(); }
                    var p = new StringBuilder(2);
                    Unicode.Append(p, cp);
                    words.Add(p.ToString());
                }
                else Unicode.Append(cur, cp);
            }
            if (cur.Length > 0) words.Add(cur.ToString());
        }

        static bool IsBertPunctuation(int cp)
        {
            return CharClasses.BertPunctuation(cp);
        }
    }

    /// <summary>GPT-2 byte-level: the GPT-2 regex split, then each word's UTF-8 bytes mapped to printable characters.</summary>
    public sealed class ByteLevelPreTokenizer : IPreTokenizer
    {
        readonly bool addPrefixSpace;

        public ByteLevelPreTokenizer(bool addPrefixSpace) { this.addPrefixSpace = addPrefixSpace; }

        public void Split(string text, List<string> words)
        {
            if (addPrefixSpace && !text.StartsWith(" ")) text = " " + text;
            var cps = Unicode.CodePoints(text);
            int i = 0, n = cps.Count;
            while (i < n)
            {
                int end = MatchAt(cps, i);
                words.Add(ByteMap.Encode(Unicode.FromCodePoints(cps, i, end)));
                i = end;
            }
        }

        // The GPT-2 pattern, hand-coded on code points:
        // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
        static int MatchAt(List<int> c, int i)
        {
            int n = c.Count;
            if (c[i] == '\'' && i + 1 < n)
            {
                int a = c[i + 1];
                if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
                if (i + 2 < n)
                {
                    int b = c[i + 2];
                    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
                }
            }
            int j = (c[i] == ' ' && i + 1 < n) ? i + 1 : i;
            for (int pass = 0; pass < 2; pass++)
            {
                // with the optional space first (greedy), then without
                int s = pass == 0 ? j : i;
                if (pass == 1 && j == i) break;
                if (s < n)
                {
                    int k = s;
                    if (CharClasses.Letter(c[k])) { while (k < n && CharClasses.Letter(c[k])) k++; return k; }
                    if (CharClasses.Number(c[k])) { while (k < n && CharClasses.Number(c[k])) k++; return k; }
                    if (IsOtherClass(c[k])) { while (k < n && IsOtherClass(c[k])) k++; return k; }
                }
            }
            if (Unicode.IsWhiteSpace(c[i]))
            {
                int k = i;
                while (k < n && Unicode.IsWhiteSpace(c[k])) k++;
                if (k == n) return k;        // \s+(?!\S) at the end of the text
                if (k - i >= 2) return k - 1; // leave the last space to prefix the next word
                return k;                     // \s+
            }
            return i + 1; // unreachable: every character is in one of the classes above
        }

        static bool IsOtherClass(int cp) { return !Unicode.IsWhiteSpace(cp) && !CharClasses.Letter(cp) && !CharClasses.Number(cp); }
    }

    /// <summary>SentencePiece-style: spaces become U+2581, one is prepended, and the text splits before each.</summary>
    public sealed class MetaspacePreTokenizer : IPreTokenizer
    {
        readonly char replacement;
        readonly string prependScheme; // always | first | never
        readonly bool split;

        public MetaspacePreTokenizer(char replacement, string prependScheme, bool split)
        {
            this.replacement = replacement;
            this.prependScheme = prependScheme;
            this.split = split;
        }

        public bool FirstOnly { get { return prependScheme == "first"; } }

        public void Split(string text, List<string> words) { Split(text, true, words); }

        public void Split(string text, bool atStart, List<string> words)
        {
            string s = text.Replace(' ', replacement);
            if (prependScheme == "always" || (prependScheme == "first" && atStart))
                if (s.Length > 0 && s[0] != replacement) s = replacement + s;
            if (!split) { if (s.Length > 0) words.Add(s); return; }
            int start = 0;
            for (int i = 1; i <= s.Length; i++)
            {
                if (i == s.Length || s[i] == replacement)
                {
                    if (i > start) words.Add(s.Substring(start, i - start));
                    start = i;
                }
            }
        }
    }

    /// <summary>GPT-2's byte to printable-character table.</summary>
    public static class ByteMap
    {
        public static readonly char[] ByteToChar = new char[256];
        public static readonly Dictionary<char, byte> CharToByte = new Dictionary<char, byte>();

        static ByteMap()
        {
            var bs = new List<int>();
            for (int b = '!'; b <= '~'; b++) bs.Add(b);
            for (int b = 0xA1; b <= 0xAC; b++) bs.Add(b);
            for (int b = 0xAE; b <= 0xFF; b++) bs.Add(b);
            var set = new HashSet<int>(bs);
            int n = 0;
            for (int b = 0; b < 256; b++)
            {
                if (set.Contains(b)) ByteToChar[b] = (char)b;
                else { ByteToChar[b] = (char)(256 + n); n++; }
            }
            for (int b = 0; b < 256; b++) CharToByte[ByteToChar[b]] = (byte)b;
        }

        public static string Encode(string s)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            var chars = new char[bytes.Length];
            for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
            return new string(chars);
        }
    }
}
