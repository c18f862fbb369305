// Coverage pairs (runtime/quals/coverage.py, cloze.py; the JavaScript host's src/coverage.js, src/cloze.js):
// every name, number and date of a summary is checked by at least one pair. Each fact of the summary (Facts)
// that no selected pair's answer covers gets a pair of its own: a cloze question made from its sentence (a
// span replaced by its wh-word), the fact as the answer. The scorer teacher-forces them in calls of their own.
// Offsets here are UTF-16 (Fact.Start16); every slice point is a match boundary or a whitespace character, so
// they cut the same characters as Python's code-point offsets.
using System.Collections.Generic;
using System.Text.RegularExpressions;
using Quals.Tokenizers;

namespace Quals
{
    public static class Cloze
    {
        // a name followed by one of these is a person: "who", else "what"
        static readonly Regex PersonVerbs = new Regex(
            "^" + PyRe.S + "*(?:," + PyRe.S + "*" + PyRe.D + "+," + PyRe.S + "*)?(?:said|says|told|was|is|has|had|added|claimed|wrote|became|won|scored|"
            + "announced|insisted|admitted|explained|believes|thinks|will|would|could)" + PyRe.B);
        static readonly Regex Money = new Regex("[$£€%]|per ?cent|million|billion|pounds|dollars|euros");
        static readonly Regex Trailing = new Regex("[" + PyRe.SInner + ".!;:,\"']+$");

        /// <summary>The wh-word that asks for span of kind (date, quantity, anything else a name), given the text after it.</summary>
        public static string WhWord(string kind, string span, string after)
        {
            if (kind == "date") return "when";
            if (kind == "quantity") return Money.IsMatch(span) ? "how much" : "how many";
            return PersonVerbs.IsMatch(PyRe.Mask(after)) ? "who" : "what";
        }

        /// <summary>sentence with [start, end) (UTF-16) replaced by its wh-word, capitalised, ending in "?"; null when
        /// the question would have fewer than 4 or more than 30 words.</summary>
        public static string Question(string sentence, int start, int end, string kind)
        {
            string before = sentence.Substring(0, start), span = sentence.Substring(start, end - start), after = sentence.Substring(end);
            string q = Unicode.PyStrip(before + WhWord(kind, span, after) + after);
            var m = Trailing.Match(q);
            if (m.Success) q = q.Substring(0, m.Index);
            int n = PyRe.SplitCount(q);
            if (n < 4 || n > 30) return null;
            string first = PyRe.First(q);
            return PyRe.Upper(first) + q.Substring(first.Length) + "?";
        }
    }

    /// <summary>A coverage pair before scoring: question, answer (the fact as written), the fact, the QA sequence.</summary>
    public sealed class CoverageTarget
    {
        public string Question, Answer;
        public Fact Fact;
        public int[] Tokens;
        public int SepIndex;
    }

    public static class Coverage
    {
        const int ClipWords = 12; // words kept on each side of a fact whose sentence makes a question of more than 30 words
        static readonly Regex SentenceEnd = new Regex("[.!?](?:" + PyRe.S + "|$)");
        static readonly Regex Break = new Regex("[.!?]" + PyRe.S + "+");
        static readonly Regex Words = new Regex(PyRe.NS + "+");

        static string ClozeKind(string kind) { return kind == "number" ? "quantity" : kind; }

        /// <summary>[lo, hi) of the sentence of text that holds [start, end).</summary>
        public static int[] SentenceOf(string text, int start, int end)
        {
            int lo = 0;
            string head = text.Substring(0, start);
            for (var m = Break.Match(head); m.Success; m = m.NextMatch()) lo = System.Math.Max(lo, m.Index + m.Length);
            var e = SentenceEnd.Match(text, end);
            return new[] { lo, e.Success ? e.Index + e.Length : text.Length };
        }

        /// <summary>[lo, hi) narrowed to at most `words` whitespace-separated words before [start, end) and after it.</summary>
        public static int[] ClipAround(string text, int start, int end, int lo, int hi, int words = ClipWords)
        {
            var before = Words.Matches(text.Substring(lo, start - lo));
            var after = Words.Matches(text.Substring(end, hi - end));
            return new[] {
                before.Count > words ? lo + before[before.Count - words].Index : lo,
                after.Count > words ? end + after[words - 1].Index + after[words - 1].Length : hi };
        }

        /// <summary>A cloze pair for each fact of summary that none of answers covers, in the summary's order.</summary>
        public static List<CoverageTarget> Targets(string summary, IList<string> answers, TextCodec codec, int sepId, int eosId,
                                                   ICollection<string> common)
        {
            var outp = new List<CoverageTarget>();
            foreach (var fact in Facts.Find(summary, common))
            {
                bool covered = false;
                foreach (var a in answers) if (Facts.Covers(a, fact)) { covered = true; break; }
                if (covered) continue;
                int fs = fact.Start16, fe = fact.End16;
                string kind = ClozeKind(fact.Kind);
                var r = SentenceOf(summary, fs, fe);
                int lo = r[0], hi = r[1];
                string question = Cloze.Question(summary.Substring(lo, hi - lo), fs - lo, fe - lo, kind);
                if (question == null && PyRe.SplitCount(summary.Substring(lo, hi - lo)) > 4) // too long: the words around the fact
                {
                    r = ClipAround(summary, fs, fe, lo, hi);
                    lo = r[0]; hi = r[1];
                    question = Cloze.Question(summary.Substring(lo, hi - lo), fs - lo, fe - lo, kind);
                }
                else if (question == null) // too short: with the sentence before it, else after it
                {
                    if (lo > 0) lo = SentenceOf(summary, lo - 1, lo - 1)[0];
                    else hi = SentenceOf(summary, hi, hi)[1];
                    question = Cloze.Question(summary.Substring(lo, hi - lo), fs - lo, fe - lo, kind);
                }
                if (question == null) continue;
                var q = codec.TextIds(Unicode.PyStrip(question));
                var tokens = new List<int>(q) { sepId };
                tokens.AddRange(codec.TextIds(Unicode.PyStrip(fact.Text)));
                tokens.Add(eosId);
                // sep_index: not tokens.index(sep): a question may spell the separator
                outp.Add(new CoverageTarget { Question = question, Answer = fact.Text, Fact = fact, Tokens = tokens.ToArray(), SepIndex = q.Count });
            }
            return outp;
        }
    }
}
