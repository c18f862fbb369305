// From generated sequences to QA pairs (runtime/quals/qa.py): parse at the separator, the answer-span test,
// and the authors' round-robin selection over distinct answers.
using System;
using System.Collections.Generic;
using Quals.Search;
using Quals.Tokenizers;

namespace Quals
{
    public sealed class QaPair
    {
        public string Question, Answer;
        public int[] Tokens;     // question, separator, answer (and EOS when generated)
        public int SepIndex;
        public Hypothesis Hypothesis;

        /// <summary>Answer token positions: strictly between the separator and the final EOS.</summary>
        public int AnswerEnd { get { return Hypothesis.Finished ? Tokens.Length - 1 : Tokens.Length; } }
    }

    public static class QaPairs
    {
        /// <summary>(question, answer) of a hypothesis, or null unless it holds exactly one separator.</summary>
        public static QaPair Parse(Hypothesis h, int sepId, int eosId, Func<IList<int>, string> decode)
        {
            int len = h.Tokens.Length;
            if (h.Finished && len > 0 && h.Tokens[len - 1] == eosId) len--;
            int sep = -1, count = 0;
            for (int i = 0; i < len; i++) if (h.Tokens[i] == sepId) { count++; if (sep < 0) sep = i; }
            if (count != 1) return null;
            var q = new ArraySegment<int>(h.Tokens, 0, sep);
            var a = new ArraySegment<int>(h.Tokens, sep + 1, len - sep - 1);
            return new QaPair { Question = decode(q), Answer = decode(a), Tokens = h.Tokens, SepIndex = sep, Hypothesis = h };
        }

        /// <summary>The lower-cased answer is a character substring of the lower-cased summary or of one of its views
        /// (the summary as the tokenizer decodes it).</summary>
        public static bool AnswerInSummary(string answer, string summary, params string[] views)
        {
            string a = Unicode.PyLower(answer);
            if (Unicode.PyLower(summary).IndexOf(a, StringComparison.Ordinal) >= 0) return true;
            foreach (var v in views) if (Unicode.PyLower(v).IndexOf(a, StringComparison.Ordinal) >= 0) return true;
            return false;
        }

        /// <summary>Rank by summed search score (stable), group by lower-cased answer, round-robin; the cap is
        /// checked between rounds only; a popped duplicate question is dropped.</summary>
        public static List<QaPair> Select(IList<QaPair> pairs, int maxPairs)
        {
            var idx = new List<int>();
            var sums = new double[pairs.Count];
            for (int i = 0; i < pairs.Count; i++) { idx.Add(i); sums[i] = pairs[i].Hypothesis.SumScore; }
            idx.Sort((a, b) => { int c = sums[b].CompareTo(sums[a]); return c != 0 ? c : a.CompareTo(b); });
            var keys = new List<string>();
            var groups = new Dictionary<string, Queue<QaPair>>();
            foreach (int i in idx)
            {
                string key = Unicode.PyLower(pairs[i].Answer);
                Queue<QaPair> q;
                if (!groups.TryGetValue(key, out q)) { q = new Queue<QaPair>(); groups[key] = q; keys.Add(key); }
                q.Enqueue(pairs[i]);
            }
            var seen = new Dictionary<string, HashSet<string>>();
            foreach (var k in keys) seen[k] = new HashSet<string>();
            var selected = new List<QaPair>();
            bool added = true;
            while (added && selected.Count < maxPairs)
            {
                added = false;
                foreach (var k in keys)
                {
                    var q = groups[k];
                    if (q.Count == 0) continue;
                    var p = q.Dequeue();
                    if (seen[k].Add(Unicode.PyLower(p.Question)))
                    {
                        selected.Add(p);
                        added = true;
                    }
                }
            }
            return selected;
        }
    }
}
