// Character classes as HF tokenizers applies them (tables measured from the Rust library, HfCharTables.cs).
using System.Collections.Generic;
using System.Globalization;

namespace Quals.Tokenizers
{
    static class CharClasses
    {
        sealed class RangeSet
        {
            readonly int[] lo, hi;

            public RangeSet(string table)
            {
                var l = new List<int>();
                var h = new List<int>();
                foreach (var r in table.Split(';'))
                {
                    if (r.Length == 0) continue;
                    int dash = r.IndexOf('-');
                    l.Add(int.Parse(r.Substring(0, dash), NumberStyles.HexNumber));
                    h.Add(int.Parse(r.Substring(dash + 1), NumberStyles.HexNumber));
                }
                lo = l.ToArray();
                hi = h.ToArray();
            }

            public bool Contains(int cp)
            {
                int a = 0, b = lo.Length - 1;
                while (a <= b)
                {
                    int m = (a + b) >> 1;
                    if (cp < lo[m]) b = m - 1;
                    else if (cp > hi[m]) a = m + 1;
                    else return true;
                }
                return false;
            }
        }

        static readonly RangeSet removed = new RangeSet(HfCharTables.BertRemoved);
        static readonly RangeSet space = new RangeSet(HfCharTables.BertSpace);
        static readonly RangeSet punct = new RangeSet(HfCharTables.BertPunct);
        static readonly RangeSet mark = new RangeSet(HfCharTables.NonSpacingMark);
        static readonly RangeSet letter = new RangeSet(HfCharTables.Letter);
        static readonly RangeSet number = new RangeSet(HfCharTables.Number);
        static readonly Dictionary<int, int[]> lower = LowerMap();

        static Dictionary<int, int[]> LowerMap()
        {
            var m = new Dictionary<int, int[]>();
            foreach (var e in HfCharTables.Lower.Split(';'))
            {
                if (e.Length == 0) continue;
                int eq = e.IndexOf('=');
                var parts = e.Substring(eq + 1).Split(' ');
                var cps = new int[parts.Length];
                for (int i = 0; i < parts.Length; i++) cps[i] = int.Parse(parts[i], NumberStyles.HexNumber);
                m[int.Parse(e.Substring(0, eq), NumberStyles.HexNumber)] = cps;
            }
            return m;
        }

        /// <summary>Dropped by BertNormalizer's clean_text (NUL, U+FFFD and its notion of control characters).</summary>
        public static bool BertRemoved(int cp) { return removed.Contains(cp); }
        /// <summary>Turned into ' ' by clean_text.</summary>
        public static bool BertSpace(int cp) { return space.Contains(cp); }
        /// <summary>Isolated by BertPreTokenizer (ASCII punctuation and its Unicode punctuation table).</summary>
        public static bool BertPunctuation(int cp) { return punct.Contains(cp); }
        /// <summary>Removed by strip_accents after NFD.</summary>
        public static bool NonSpacingMark(int cp) { return mark.Contains(cp); }
        /// <summary>\p{L} and \p{N} in the GPT-2 split pattern (Oniguruma's tables).</summary>
        public static bool Letter(int cp) { return letter.Contains(cp); }
        public static bool Number(int cp) { return number.Contains(cp); }

        public static void AppendLower(System.Text.StringBuilder sb, int cp)
        {
            int[] m;
            if (lower.TryGetValue(cp, out m)) foreach (int c in m) Unicode.Append(sb, c);
            else Unicode.Append(sb, cp);
        }
    }
}
