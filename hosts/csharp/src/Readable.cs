// Generated text as people should read it: cased and spelled as the summary writes it (runtime/quals/readable.py).
// The metric's own decodings (the span test, the conformance vectors' pairs) are unchanged; the verdict mode's
// `unsupported` list shows pairs this way, as Python's Result does.
using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;
using Quals.Tokenizers;

namespace Quals
{
    public static class Readable
    {
        static readonly Regex SplitNumber = new Regex("(" + PyRe.D + ")([,.:/]) (?=" + PyRe.D + ")");
        static readonly Regex WordRe = new Regex(PyRe.W + "+");
        static readonly Regex TrailingDigits = new Regex(PyRe.D + "+$");
        static readonly Regex LeadingDigits = new Regex("^" + PyRe.D + "+");

        /// <summary>The summary's own spelling of text when text occurs in it up to case and spaces, else null.</summary>
        public static string AsWritten(string text, string summary)
        {
            var chars = new List<string>();
            for (int i = 0; i < text.Length;)
            {
                string c = PyRe.First(text.Substring(i));
                i += c.Length;
                if (!(c.Length == 1 && Unicode.IsPySpace(c[0]))) chars.Add(c);
            }
            if (chars.Count == 0 || summary.Length == 0) return null;
            var parts = new List<string>();
            foreach (var c in chars) // each character in its cases (Mono's case folding misses some that Python's has)
            {
                string lo = Unicode.PyLower(c), up = PyRe.Upper(c);
                string title = up.Length == 1 && (up[0] == '\u01C4' || up[0] == '\u01C7' || up[0] == '\u01CA' || up[0] == '\u01F1')
                    ? ((char)(up[0] + 1)).ToString() : c; // a digraph's title-case form (ǅ)
                parts.Add("(?:" + Regex.Escape(c) + "|" + Regex.Escape(lo) + "|" + Regex.Escape(up) + "|" + Regex.Escape(title) + ")");
            }
            string pattern = string.Join(PyRe.S + "*", parts);
            // whole words ("an" is not the start of "Anna"): Python's (?<!\w) and (?!\w), checked by code point
            bool wholeStart = PyRe.IsAlnum(PyRe.CodePointAt(chars[0], 0)), wholeEnd = PyRe.IsAlnum(PyRe.CodePointAt(chars[chars.Count - 1], 0));
            var re = new Regex("\\G" + pattern, PyRe.IgnoreCase);
            for (int i = 0; i <= summary.Length; i++)
            {
                if (i > 0 && i < summary.Length && char.IsLowSurrogate(summary[i]) && char.IsHighSurrogate(summary[i - 1])) continue;
                if (wholeStart && PyRe.WordBefore(summary, i)) continue;
                var m = re.Match(summary, i);
                if (m.Success && !(wholeEnd && PyRe.WordAt(summary, m.Index + m.Length))) return m.Value;
            }
            return null;
        }

        static Dictionary<string, string> Casing(string summary)
        {
            var spellings = new Dictionary<string, List<Tuple<string, bool>>>();
            var order = new List<string>();
            for (var m = WordRe.Match(PyRe.Mask(summary)); m.Success; m = m.NextMatch())
            {
                string word = summary.Substring(m.Index, m.Length);
                string before = PyRe.RStrip(summary.Substring(0, m.Index));
                bool initial = before.Length == 0 || ".!?\"'(".IndexOf(before[before.Length - 1]) >= 0;
                string low = Unicode.PyLower(word);
                List<Tuple<string, bool>> seen;
                if (!spellings.TryGetValue(low, out seen)) { seen = new List<Tuple<string, bool>>(); spellings[low] = seen; order.Add(low); }
                seen.Add(Tuple.Create(word, initial));
            }
            var outp = new Dictionary<string, string>();
            foreach (var low in order)
            {
                string inside = null;
                bool allDiffer = true;
                foreach (var s in spellings[low])
                {
                    if (!s.Item2 && inside == null) inside = s.Item1;
                    if (s.Item1 == low) allDiffer = false;
                }
                if (inside != null && allDiffer) outp[low] = inside;
            }
            return outp;
        }

        /// <summary>text (a decoded question or answer) as the summary writes its words and numbers.</summary>
        public static string Text(string text, string summary, bool capitalise = false)
        {
            text = Unicode.PyStrip(text);
            string whole = AsWritten(text, summary);
            if (whole != null) return whole;
            string low = Unicode.PyLower(summary);
            string t0 = text;
            text = SplitNumber.Replace(t0, m =>
            {
                var left = TrailingDigits.Match(t0.Substring(0, m.Index + 1));
                var right = LeadingDigits.Match(t0.Substring(m.Index + m.Length));
                bool joined = left.Success && right.Success
                    && low.IndexOf(left.Value + m.Groups[2].Value + right.Value, StringComparison.Ordinal) >= 0;
                return joined ? m.Groups[1].Value + m.Groups[2].Value : m.Value;
            });
            var cases = Casing(summary);
            var sb = new StringBuilder();
            int last = 0;
            for (var m = WordRe.Match(PyRe.Mask(text)); m.Success; m = m.NextMatch())
            {
                string word = text.Substring(m.Index, m.Length), w;
                sb.Append(text, last, m.Index - last).Append(PyRe.IsLower(word) && cases.TryGetValue(Unicode.PyLower(word), out w) ? w : word);
                last = m.Index + m.Length;
            }
            text = sb.Append(text, last, text.Length - last).ToString();
            if (capitalise && text.Length > 0 && PyRe.IsLower(PyRe.First(text)))
            {
                string first = PyRe.First(text);
                text = PyRe.Upper(first) + text.Substring(first.Length);
            }
            return text;
        }

        /// <summary>(question, answer) for people (the decodings as they are, should the text defeat a pattern).</summary>
        public static string[] PairText(string question, string answer, string summary)
        {
            try { return new[] { Text(question, summary, true), Text(answer, summary) }; }
            catch (ArgumentException) { return new[] { question, answer }; }
        }
    }
}
