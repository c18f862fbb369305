// Normalizers of tokenizer.json that this host implements: BertNormalizer and NFKC (as HF tokenizers 0.22).
using System.Text;

namespace Quals.Tokenizers
{
    public interface INormalizer
    {
        string Normalize(string text);
    }

    /// <summary>BERT's cleanup: drop controls, whitespace to ' ', space out CJK, strip accents, lowercase.</summary>
    public sealed class BertNormalizer : INormalizer
    {
        readonly bool cleanText, chineseChars, stripAccents, lowercase;

        public BertNormalizer(bool cleanText, bool chineseChars, bool? stripAccents, bool lowercase)
        {
            this.cleanText = cleanText;
            this.chineseChars = chineseChars;
            this.stripAccents = stripAccents ?? lowercase; // null follows lowercase, as in HF
            this.lowercase = lowercase;
        }

        public string Normalize(string text)
        {
            var sb = new StringBuilder(text.Length + 8);
            foreach (int cp in Unicode.CodePoints(text))
            {
                if (cleanText)
                {
                    if (CharClasses.BertRemoved(cp)) continue;
                    if (CharClasses.BertSpace(cp)) { sb.Append(' '); continue; }
                }
                if (chineseChars && IsChineseChar(cp)) { sb.Append(' '); Unicode.Append(sb, cp); sb.Append(' '); continue; }
                Unicode.Append(sb, cp);
            }
            string s = sb.ToString();
            if (stripAccents)
            {
                string nfd = Normalization.Nfd(s);
                var sb2 = new StringBuilder(nfd.Length);
                foreach (int cp in Unicode.CodePoints(nfd)) if (!CharClasses.NonSpacingMark(cp)) Unicode.Append(sb2, cp);
                s = sb2.ToString();
            }
            if (lowercase)
            {
                var sb3 = new StringBuilder(s.Length);
                foreach (int cp in Unicode.CodePoints(s)) CharClasses.AppendLower(sb3, cp);
                s = sb3.ToString();
            }
            return s;
        }

        static bool IsChineseChar(int cp)
        {
            return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
        }
    }

    public sealed class NfkcNormalizer : INormalizer
    {
        public string Normalize(string text) { return Normalization.Nfkc(text); }
    }
}
