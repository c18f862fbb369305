// The facts of a summary that a reader checks first: names, numbers and dates, as character spans
// (runtime/quals/facts.py; the JavaScript host's src/facts.js). Dates (month names, weekdays, years), numbers
// (digits with separators, a currency sign, a scale word or a unit; number words from "two"; digit ordinals) and
// names (runs of capitalised words in text with capitals, else runs of words that are not common English words,
// from the calibration's list). Spans never overlap; a date wins over a number, a number over a name.
// The patterns are Python's with its Unicode classes spelled out (PyRe); a Fact reports code points.
using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using Quals.Tokenizers;

namespace Quals
{
    public sealed class Fact
    {
        public int Start, End;      // code points, as Python
        public string Kind, Text;   // name | number | date
        public int Start16, End16;  // the same span in UTF-16 units
    }

    public static class Facts
    {
        public static readonly string[] Months = { "january", "february", "march", "april", "may", "june", "july", "august",
            "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec" };
        public static readonly string[] Weekdays = { "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday" };
        public static readonly string[] NumberWords = { "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
            "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
            "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion",
            "trillion", "dozen", "dozens", "hundreds", "thousands", "millions", "billions" };
        public static readonly HashSet<string> Connectors = new HashSet<string> {
            "of", "de", "del", "da", "van", "von", "der", "den", "le", "la", "al", "bin", "el", "du" };

        static readonly HashSet<string> MonthSet = new HashSet<string>(Months);
        static readonly HashSet<string> WeekdaySet = new HashSet<string>(Weekdays);
        static readonly HashSet<string> NumberWordSet = new HashSet<string>(NumberWords);

        static string Alt(IEnumerable<string> words)
        {
            var parts = new List<string>();
            foreach (var w in words) parts.Add(PyRe.Lit(w));
            return "(?:" + string.Join("|", parts) + ")";
        }

        // Python's UNIT fragments as written there (letters, "?" and \s), each translated
        static string Fragment(string f) { return f.Replace("i", "[i\u0131\u0130]").Replace(@"\s", PyRe.S); }

        static readonly string Scale = Alt(new[] { "hundred", "thousand", "million", "billion", "trillion", "m", "bn", "k" });
        static readonly string Unit = "(?:" + string.Join("|", Array.ConvertAll(new[] {
            @"per\s?cent", "percent", "pounds?", "dollars?", "euros?", "yen", "years?", "months?", "weeks?", "days?", "hours?",
            "minutes?", "seconds?", "miles?", "km", "kilometres?", "kilometers?", "metres?", "meters?", "feet", "foot", "inches",
            "kg", "tons?", "tonnes?", "people", "goals?", "points?", "votes?", "seats?", "homes?", "times" }, Fragment)) + ")";
        static readonly string Num = "(?:[$£€¥]" + PyRe.S + "?)?" + PyRe.D + "[" + PyRe.D + ",]*(?:\\." + PyRe.D + "+)?";
        static readonly string Month = Alt(Months) + "\\.?";
        static readonly string Ord = Alt(new[] { "st", "nd", "rd", "th" });
        static readonly string S = PyRe.S, D = PyRe.D, B = PyRe.B;

        static readonly Regex Date = new Regex(
            B + "(?:" + D + "{1,2}" + Ord + "?" + S + "+" + Month + "(?:,?" + S + "+" + D + "{4})?"      // 12 may 2010
            + "|" + Month + S + "+" + D + "{1,2}" + Ord + "?(?:,?" + S + "+" + D + "{4})?"              // may 12, 2010
            + "|" + Month + S + "+" + D + "{4}"                                                         // may 2010
            + "|(?!" + PyRe.Lit("may") + B + ")" + Month                                                // june (may alone is a verb)
            + "|" + Alt(Weekdays)
            + "|(?:1[5-9]|20)" + D + D + PyRe.Lit("s") + "?|'" + D + "0" + PyRe.Lit("s") + ")(?!" + PyRe.W + ")",
            PyRe.IgnoreCase);
        static readonly Regex Number = new Regex(
            B + D + "+" + Ord + B
            + "|(?<![" + PyRe.WInner + ".])" + Num + "(?:" + S + "?" + Scale + B + ")?(?:" + S + "?%|" + S + "?" + Unit + B + ")?"
            + "|" + B + Alt(NumberWords) + "(?:[" + PyRe.SInner + "\\-]" + Alt(NumberWords) + ")*" + B + "(?:" + S + "?" + Unit + B + ")?",
            PyRe.IgnoreCase);
        public static readonly Regex Word = new Regex(PyRe.Letter + "+(?:['’\\-]" + PyRe.Letter + "+)*");
        static readonly Regex SentenceStart = new Regex("(?:^|[.!?:;\"“”(\\[]" + S + "*|\\n" + S + "*)$");
        static readonly Regex OnlySpace = new Regex("^" + S + "+$");
        static readonly Regex Digits = new Regex(D + "[" + D + ",.]*");

        /// <summary>Whether text is written with capitals at all (Goyal21 is not): then capitals mark names.</summary>
        public static bool HasCapitals(string text)
        {
            bool anyUpper = false, allUpper = true;
            for (int i = 0; i < text.Length;)
            {
                int cp = PyRe.CodePointAt(text, i);
                string c = char.ConvertFromUtf32(cp);
                i += c.Length;
                if (!PyRe.IsAlpha(cp)) continue;
                bool up = PyRe.IsUpper(c);
                anyUpper |= up;
                allUpper &= up;
            }
            return anyUpper && !allUpper;
        }

        /// <summary>The names, numbers and dates of text, in order, never overlapping. common: the word list that
        /// tells names from words in text without capitals (the calibration's facts.common_words).</summary>
        public static List<Fact> Find(string text, ICollection<string> common)
        {
            var spans = new List<Tuple<int, int, string>>(); // UTF-16
            string masked = PyRe.Mask(text); // offsets are text's
            Func<int, int, bool> free = (s, e) => spans.TrueForAll(x => e <= x.Item1 || s >= x.Item2);
            for (var m = Date.Match(masked); m.Success; m = m.NextMatch())
                if (free(m.Index, m.Index + m.Length)) spans.Add(Tuple.Create(m.Index, m.Index + m.Length, "date"));
            for (var m = Number.Match(masked); m.Success; m = m.NextMatch())
            {
                int s = m.Index, e = m.Index + m.Length;
                while (e > s && (text[e - 1] == ' ' || text[e - 1] == '-')) e--;
                if (e > s && free(s, e)) spans.Add(Tuple.Create(s, e, "number"));
            }
            foreach (var n in Names(text, common)) if (free(n[0], n[1])) spans.Add(Tuple.Create(n[0], n[1], "name"));
            spans.Sort((x, y) => x.Item1 != y.Item1 ? x.Item1.CompareTo(y.Item1) : x.Item2 != y.Item2 ? x.Item2.CompareTo(y.Item2)
                                                    : string.CompareOrdinal(x.Item3, y.Item3));
            var outp = new List<Fact>();
            foreach (var x in spans)
                outp.Add(new Fact { Start = PyRe.CodePoints(text, x.Item1), End = PyRe.CodePoints(text, x.Item2), Kind = x.Item3,
                                    Text = text.Substring(x.Item1, x.Item2 - x.Item1), Start16 = x.Item1, End16 = x.Item2 });
            return outp;
        }

        /// <summary>Python's text[max(0, s - 3):s] in code points, from UTF-16 offset s.</summary>
        static string ThreeBefore(string text, int s)
        {
            int i = s;
            for (int k = 0; k < 3 && i > 0; k++)
                i -= i >= 2 && char.IsLowSurrogate(text[i - 1]) && char.IsHighSurrogate(text[i - 2]) ? 2 : 1;
            return text.Substring(i, s - i);
        }

        static List<int[]> Names(string text, ICollection<string> common)
        {
            bool cased = HasCapitals(text);
            var outp = new List<int[]>();
            var run = new List<int[]>();      // name words of the current run
            var pending = new List<int[]>();  // connectors after it ("bank of" ... "england")
            Action close = () =>
            {
                if (run.Count > 0) outp.Add(new[] { run[0][0], run[run.Count - 1][1] });
                run.Clear();
                pending.Clear();
            };
            int lastEnd = 0;
            for (var m = Word.Match(PyRe.Mask(text)); m.Success; m = m.NextMatch())
            {
                string word = text.Substring(m.Index, m.Length);
                int s = m.Index, e = m.Index + m.Length;
                string gap = text.Substring(lastEnd, s - lastEnd);
                lastEnd = e;
                if (run.Count > 0 && !OnlySpace.IsMatch(gap)) close(); // punctuation between words ends a run
                string lower = Unicode.PyLower(word).Replace("’", "'");
                string bas = lower.EndsWith("'s", StringComparison.Ordinal) ? lower.Substring(0, lower.Length - 2) : lower;
                bool isName;
                if (cased)
                {
                    bool initial = SentenceStart.IsMatch(ThreeBefore(text, s)) || s == 0;
                    bool speaker = e < text.Length && text[e] == ':'; // a dialogue's "Anna: ..." names a speaker
                    isName = (PyRe.IsUpper(PyRe.First(word)) && !(initial && common.Contains(bas) && !speaker))
                        || (PyRe.CodePoints(word) >= 2 && PyRe.IsUpper(word) && !common.Contains(bas));
                }
                else isName = !common.Contains(bas) && PyRe.CodePoints(bas) >= 2;
                if (isName && !MonthSet.Contains(bas) && !WeekdaySet.Contains(bas) && !NumberWordSet.Contains(bas))
                {
                    run.AddRange(pending);
                    pending.Clear();
                    int end = lower.EndsWith("'s", StringComparison.Ordinal) ? e - 2 : e;
                    run.Add(new[] { s, end });
                    if (end != e) close(); // a possessive ends the name
                }
                else if (run.Count > 0 && Connectors.Contains(lower) && pending.Count == 0) pending.Add(new[] { s, e });
                else close();
            }
            close();
            return outp;
        }

        static HashSet<string> AnswerWords(string text)
        {
            var set = new HashSet<string>();
            string masked = PyRe.Mask(text);
            for (var m = Word.Match(masked); m.Success; m = m.NextMatch()) set.Add(Unicode.PyLower(text.Substring(m.Index, m.Length)));
            for (var m = Digits.Match(masked); m.Success; m = m.NextMatch()) set.Add(text.Substring(m.Index, m.Length));
            return set;
        }

        /// <summary>Whether a QA pair's answer asks about fact: they share a word (case-insensitive).</summary>
        public static bool Covers(string answer, Fact fact)
        {
            var a = AnswerWords(answer);
            foreach (var w in AnswerWords(fact.Text)) if (!Connectors.Contains(w) && a.Contains(w)) return true;
            return false;
        }
    }
}
