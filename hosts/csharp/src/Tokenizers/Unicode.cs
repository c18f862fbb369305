// Character classes the HF tokenizers components use, by code point (not UTF-16 unit), so that
// supplementary-plane characters (emoji, CJK extension B) are classified as Rust/Oniguruma do.
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Quals.Tokenizers
{
    public static class Unicode
    {
        /// <summary>The code points of s (a lone surrogate stays a code point of its own).</summary>
        public static List<int> CodePoints(string s)
        {
            var cps = new List<int>(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    cps.Add(char.ConvertToUtf32(c, s[i + 1]));
                    i++;
                }
                else cps.Add(c);
            }
            return cps;
        }

        public static void Append(StringBuilder sb, int cp)
        {
            if (cp < 0x10000) sb.Append((char)cp);
            else sb.Append(char.ConvertFromUtf32(cp));
        }

        public static string FromCodePoints(List<int> cps, int start, int end)
        {
            var sb = new StringBuilder(end - start);
            for (int i = start; i < end; i++) Append(sb, cps[i]);
            return sb.ToString();
        }

        public static UnicodeCategory Category(int cp)
        {
            if (cp < 0x10000) return char.GetUnicodeCategory((char)cp);
            if (cp > 0x10FFFF) return UnicodeCategory.OtherNotAssigned;
            return CharUnicodeInfo.GetUnicodeCategory(char.ConvertFromUtf32(cp), 0);
        }

        /// <summary>The Unicode White_Space property (Rust char::is_whitespace, Oniguruma \s).</summary>
        public static bool IsWhiteSpace(int cp)
        {
            return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
        }

        /// <summary>\p{L}</summary>
        public static bool IsLetter(int cp)
        {
            switch (Category(cp))
            {
                case UnicodeCategory.UppercaseLetter:
                case UnicodeCategory.LowercaseLetter:
                case UnicodeCategory.TitlecaseLetter:
                case UnicodeCategory.ModifierLetter:
                case UnicodeCategory.OtherLetter:
                    return true;
                default: return false;
            }
        }

        /// <summary>\p{N}</summary>
        public static bool IsNumber(int cp)
        {
            switch (Category(cp))
            {
                case UnicodeCategory.DecimalDigitNumber:
                case UnicodeCategory.LetterNumber:
                case UnicodeCategory.OtherNumber:
                    return true;
                default: return false;
            }
        }

        /// <summary>Unicode punctuation (Pc, Pd, Ps, Pe, Pi, Pf, Po).</summary>
        public static bool IsPunctuation(int cp)
        {
            switch (Category(cp))
            {
                case UnicodeCategory.ConnectorPunctuation:
                case UnicodeCategory.DashPunctuation:
                case UnicodeCategory.OpenPunctuation:
                case UnicodeCategory.ClosePunctuation:
                case UnicodeCategory.InitialQuotePunctuation:
                case UnicodeCategory.FinalQuotePunctuation:
                case UnicodeCategory.OtherPunctuation:
                    return true;
                default: return false;
            }
        }

        /// <summary>General category C* other than surrogates-in-pairs: Cc, Cf, Cn, Co, Cs (unicode_categories' is_other).</summary>
        public static bool IsOther(int cp)
        {
            switch (Category(cp))
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.Format:
                case UnicodeCategory.OtherNotAssigned:
                case UnicodeCategory.PrivateUse:
                case UnicodeCategory.Surrogate:
                    return true;
                default: return false;
            }
        }

        public static bool IsNonSpacingMark(int cp) { return Category(cp) == UnicodeCategory.NonSpacingMark; }

        /// <summary>Lower-case one code point with Rust's char::to_lowercase (full mapping: U+0130 becomes two).</summary>
        public static void AppendLower(StringBuilder sb, int cp)
        {
            if (cp == 0x130) { sb.Append('i').Append('\u0307'); return; }
            if (cp < 0x10000) { sb.Append(char.ToLowerInvariant((char)cp)); return; }
            sb.Append(char.ConvertFromUtf32(cp).ToLowerInvariant());
        }

        /// <summary>Python's str.strip() with no argument: strips what str.isspace() accepts.</summary>
        public static string PyStrip(string s)
        {
            int a = 0, b = s.Length;
            while (a < b && IsPySpace(s[a])) a++;
            while (b > a && IsPySpace(s[b - 1])) b--;
            return s.Substring(a, b - a);
        }

        public static bool IsPySpace(char c)
        {
            return (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= ' ') || c == '\x85' || c == '\xa0' || c == '\u1680'
                || (c >= '\u2000' && c <= '\u200a') || c == '\u2028' || c == '\u2029' || c == '\u202f' || c == '\u205f' || c == '\u3000';
        }

        /// <summary>Python's str.lower() (full case mapping; only U+0130 expands among common characters; the
        /// title-case letters, which Mono's tables leave as they are; Greek final sigma by context).</summary>
        public static string PyLower(string s)
        {
            var sb = new StringBuilder(s.Length);
            var cps = CodePoints(s);
            for (int i = 0; i < cps.Count; i++)
            {
                int cp = cps[i];
                if (cp == 0x3A3 && FinalSigma(cps, i)) sb.Append('\u03C2');
                else if (cp == 0x1C5 || cp == 0x1C8 || cp == 0x1CB || cp == 0x1F2) sb.Append((char)(cp + 1));
                else if ((cp >= 0x1F88 && cp <= 0x1F8F) || (cp >= 0x1F98 && cp <= 0x1F9F) || (cp >= 0x1FA8 && cp <= 0x1FAF)) sb.Append((char)(cp - 8));
                else if (cp == 0x1FBC || cp == 0x1FCC || cp == 0x1FFC) sb.Append((char)(cp - 9));
                else if (cp >= 0x2160 && cp <= 0x216F) sb.Append((char)(cp + 0x10)); // Roman numerals
                else if (cp >= 0x24B6 && cp <= 0x24CF) sb.Append((char)(cp + 26)); // circled letters
                else AppendLower(sb, cp);
            }
            return sb.ToString();
        }

        static bool Cased(int cp)
        {
            var c = Category(cp);
            return c == UnicodeCategory.UppercaseLetter || c == UnicodeCategory.LowercaseLetter || c == UnicodeCategory.TitlecaseLetter;
        }

        static bool CaseIgnorable(int cp)
        {
            var c = Category(cp);
            return c == UnicodeCategory.NonSpacingMark || c == UnicodeCategory.EnclosingMark || c == UnicodeCategory.Format
                || c == UnicodeCategory.ModifierLetter || c == UnicodeCategory.ModifierSymbol
                || cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`' || cp == 0xB7 || cp == 0x2018 || cp == 0x2019 || cp == 0x2024 || cp == 0x2027;
        }

        /// <summary>Unicode's Final_Sigma context (as CPython's str.lower applies it): a cased letter before,
        /// none after (case-ignorable characters skipped).</summary>
        static bool FinalSigma(List<int> cps, int i)
        {
            int j = i - 1;
            while (j >= 0 && CaseIgnorable(cps[j])) j--;
            if (j < 0 || !Cased(cps[j])) return false;
            j = i + 1;
            while (j < cps.Count && CaseIgnorable(cps[j])) j++;
            return j == cps.Count || !Cased(cps[j]);
        }
    }
}
