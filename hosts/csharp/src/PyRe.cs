// Python's `re` classes in .NET patterns, for the modules that port Python regexes (Facts.cs, Cloze.cs,
// Coverage.cs, Readable.cs; the JavaScript host's src/pyre.js). In a str pattern Python's \w, \d, \s and \b are
// Unicode-aware; .NET's \w also takes combining marks (Mn) and connector punctuation (Pc), its \s is another set,
// and its \b follows its \w, so each is spelled out here. Python's offsets count code points; a .NET string is
// UTF-16, so the matching runs on UTF-16 offsets and what is reported is converted (CodePoints).
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Quals.Tokenizers;

namespace Quals
{
    public static class PyRe
    {
        /// <summary>Python's \w: str.isalnum() (letters; digits and numerals of any kind) or "_".</summary>
        public const string W = @"[\p{L}\p{N}_]";
        /// <summary>W's members, for use inside a character class.</summary>
        public const string WInner = @"\p{L}\p{N}_";
        /// <summary>Python's [^\W\d_]: letters and the numerals that are not decimal digits.</summary>
        public const string Letter = @"[\p{L}\p{Nl}\p{No}]";
        /// <summary>Python's \d: Unicode decimal digits (Nd).</summary>
        public const string D = @"\p{Nd}";
        /// <summary>Python's \s (str.isspace()), for use inside a character class.</summary>
        public const string SInner = @"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
        public const string S = "[" + SInner + "]";
        public const string NS = "[^" + SInner + "]";
        /// <summary>Python's \b: between a \w and a non-\w character (or an end).</summary>
        public const string B = "(?:(?<=" + W + ")(?!" + W + ")|(?<!" + W + ")(?=" + W + "))";

        /// <summary>Python's re.IGNORECASE with Unicode: .NET's culture-invariant case folding.</summary>
        public const RegexOptions IgnoreCase = RegexOptions.IgnoreCase | RegexOptions.CultureInvariant;

        /// <summary>A literal word for a pattern compiled with re.IGNORECASE: Python also matches "i" to "ı"
        /// (U+0131) and "İ" (U+0130).</summary>
        public static string Lit(string word)
        {
            return Regex.Escape(word).Replace("i", "[i\u0131\u0130]");
        }

        /// <summary>The number of code points of text[0:i] (i a UTF-16 offset): Python's offset.</summary>
        public static int CodePoints(string text, int i)
        {
            int n = 0;
            for (int k = 0; k < i; k++)
                if (!(char.IsLowSurrogate(text[k]) && k > 0 && char.IsHighSurrogate(text[k - 1]))) n++;
            return n;
        }

        public static int CodePoints(string text) { return CodePoints(text, text.Length); }

        /// <summary>The code point at UTF-16 offset i.</summary>
        public static int CodePointAt(string text, int i)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                return char.ConvertToUtf32(text[i], text[i + 1]);
            return text[i];
        }

        static int Width(int cp) { return cp > 0xFFFF ? 2 : 1; }

        static bool UpperCp(int cp)
        {
            var c = Unicode.Category(cp);
            return c == UnicodeCategory.UppercaseLetter || (cp >= 0x2160 && cp <= 0x216F) || (cp >= 0x24B6 && cp <= 0x24CF)
                || (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189);
        }

        static bool LowerCp(int cp)
        {
            var c = Unicode.Category(cp);
            return c == UnicodeCategory.LowercaseLetter || cp == 0xAA || cp == 0xBA
                || (cp >= 0x2170 && cp <= 0x217F) || (cp >= 0x24D0 && cp <= 0x24E9);
        }

        /// <summary>Python's str.isupper(): no lower-case or title-case character, and at least one upper-case one.</summary>
        public static bool IsUpper(string text) { return Cased(text, true); }

        /// <summary>Python's str.islower(): no upper-case or title-case character, and at least one lower-case one.</summary>
        public static bool IsLower(string text) { return Cased(text, false); }

        /// <summary>IsUpper (upper) or IsLower: no character of the other case nor title-case, one of the case.</summary>
        static bool Cased(string text, bool upper)
        {
            bool seen = false;
            for (int i = 0; i < text.Length;)
            {
                int cp = CodePointAt(text, i);
                i += Width(cp);
                if ((upper ? LowerCp(cp) : UpperCp(cp)) || Unicode.Category(cp) == UnicodeCategory.TitlecaseLetter)
                    return false;
                if (upper ? UpperCp(cp) : LowerCp(cp)) seen = true;
            }
            return seen;
        }

        /// <summary>Whether the code point is a letter (Python's str.isalpha() of one character: L*).</summary>
        public static bool IsAlpha(int cp) { return Unicode.IsLetter(cp); }

        /// <summary>Python's str.isalnum() of one code point (approximately: L* and N*).</summary>
        public static bool IsAlnum(int cp) { return Unicode.IsLetter(cp) || Unicode.IsNumber(cp); }

        /// <summary>The first code point of text, as a string (Python's text[0]).</summary>
        public static string First(string text) { return text.Substring(0, Width(CodePointAt(text, 0))); }

        /// <summary>Python's str.upper() of one code point (full mapping for the common expansions).</summary>
        public static string Upper(string ch)
        {
            if (ch == "\u00DF") return "SS";
            if (ch.Length == 1 && (ch[0] == '\u01C5' || ch[0] == '\u01C8' || ch[0] == '\u01CB' || ch[0] == '\u01F2'))
                return ((char)(ch[0] - 1)).ToString(); // title-case digraphs (Mono's tables keep them)
            if (ch.Length == 1 && ch[0] >= '\u2170' && ch[0] <= '\u217F') return ((char)(ch[0] - 0x10)).ToString(); // Roman numerals
            if (ch.Length == 1 && ch[0] >= '\u24D0' && ch[0] <= '\u24E9') return ((char)(ch[0] - 26)).ToString(); // circled letters
            return ch.ToUpperInvariant();
        }

        /// <summary>text for matching with the W/Letter/D classes: the same UTF-16 length, each supplementary-plane
        /// letter or numeral (a surrogate pair, which .NET's \p{..} classes do not see) written as two BMP characters
        /// of its class (a letter: U+4E00; a decimal digit: "0"; another numeral: U+00B2). Match offsets are the
        /// text's; read the matched text from the text itself. (A supplementary decimal digit counts twice in a
        /// {n} repeat: a known gap.)</summary>
        public static string Mask(string text)
        {
            StringBuilder sb = null;
            for (int i = 0; i < text.Length; i++)
            {
                if (!(char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))) continue;
                int cp = char.ConvertToUtf32(text[i], text[i + 1]);
                char rep = Unicode.IsLetter(cp) ? '\u4E00' : Unicode.Category(cp) == UnicodeCategory.DecimalDigitNumber ? '0'
                         : Unicode.IsNumber(cp) ? '\u00B2' : '\0';
                if (rep != '\0')
                {
                    if (sb == null) sb = new StringBuilder(text);
                    sb[i] = rep; sb[i + 1] = rep;
                }
                i++;
            }
            return sb == null ? text : sb.ToString();
        }

        /// <summary>Whether a Python \w character ends at UTF-16 offset i of text (a \w character before i).</summary>
        public static bool WordBefore(string text, int i)
        {
            if (i <= 0) return false;
            int k = i - 1;
            if (char.IsLowSurrogate(text[k]) && k > 0 && char.IsHighSurrogate(text[k - 1])) k--;
            int cp = CodePointAt(text, k);
            return IsAlnum(cp) || cp == '_';
        }

        /// <summary>Whether a Python \w character starts at UTF-16 offset i of text.</summary>
        public static bool WordAt(string text, int i)
        {
            if (i >= text.Length) return false;
            int cp = CodePointAt(text, i);
            return IsAlnum(cp) || cp == '_';
        }

        /// <summary>Python's len(str.split()): the number of runs of non-whitespace.</summary>
        public static int SplitCount(string text)
        {
            int n = 0;
            bool inWord = false;
            foreach (char c in text)
            {
                bool sp = Unicode.IsPySpace(c);
                if (!sp && !inWord) n++;
                inWord = !sp;
            }
            return n;
        }

        /// <summary>Python's str.rstrip() with no argument.</summary>
        public static string RStrip(string s)
        {
            int b = s.Length;
            while (b > 0 && Unicode.IsPySpace(s[b - 1])) b--;
            return s.Substring(0, b);
        }
    }
}
