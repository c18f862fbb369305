// Tokenization models: WordPiece, byte-level BPE and Unigram, as HF tokenizers 0.22 runs them.
using System;
using System.Collections.Generic;
using System.Text;

namespace Quals.Tokenizers
{
    public interface IModel
    {
        void Tokenize(string word, List<int> ids);
        string IdToToken(int id); // null when unknown
    }

    /// <summary>Greedy longest-match-first WordPiece with a continuing-subword prefix.</summary>
    public sealed class WordPieceModel : IModel
    {
        readonly Dictionary<string, int> vocab;
        readonly Dictionary<int, string> ids = new Dictionary<int, string>();
        readonly int unkId;
        readonly string prefix;
        readonly int maxChars;

        public WordPieceModel(Dictionary<string, int> vocab, string unkToken, string prefix, int maxChars)
        {
            this.vocab = vocab;
            foreach (var kv in vocab) ids[kv.Value] = kv.Key;
            if (!vocab.TryGetValue(unkToken, out unkId)) throw new BundleException("tokenizer.json: WordPiece unk_token '" + unkToken + "' is not in the vocabulary");
            this.prefix = prefix;
            this.maxChars = maxChars;
        }

        public void Tokenize(string word, List<int> output)
        {
            var cps = Unicode.CodePoints(word);
            if (cps.Count > maxChars) { output.Add(unkId); return; }
            // UTF-16 offsets of code point boundaries
            var bounds = new int[cps.Count + 1];
            for (int i = 0, off = 0; i < cps.Count; i++) { bounds[i] = off; off += cps[i] >= 0x10000 ? 2 : 1; bounds[i + 1] = off; }
            var pieces = new List<int>();
            int start = 0;
            while (start < cps.Count)
            {
                int end = cps.Count, found = -1;
                while (start < end)
                {
                    string sub = word.Substring(bounds[start], bounds[end] - bounds[start]);
                    if (start > 0) sub = prefix + sub;
                    int id;
                    if (vocab.TryGetValue(sub, out id)) { found = id; break; }
                    end--;
                }
                if (found < 0) { output.Add(unkId); return; }
                pieces.Add(found);
                start = end;
            }
            output.AddRange(pieces);
        }

        public string IdToToken(int id) { string t; return ids.TryGetValue(id, out t) ? t : null; }
    }

    /// <summary>BPE over byte-level characters: merges applied lowest rank first (leftmost among equal ranks).</summary>
    public sealed class BpeModel : IModel
    {
        readonly Dictionary<string, int> vocab;
        readonly Dictionary<int, string> ids = new Dictionary<int, string>();
        readonly Dictionary<long, int> mergeRank = new Dictionary<long, int>();  // (left id, right id) -> rank
        readonly Dictionary<long, int> mergeResult = new Dictionary<long, int>(); // (left id, right id) -> merged id
        readonly int? unkId;
        readonly Dictionary<string, int[]> cache = new Dictionary<string, int[]>();

        public BpeModel(Dictionary<string, int> vocab, List<KeyValuePair<string, string>> merges, string unkToken)
        {
            this.vocab = vocab;
            foreach (var kv in vocab) ids[kv.Value] = kv.Key;
            if (unkToken != null)
            {
                int u;
                if (!vocab.TryGetValue(unkToken, out u)) throw new BundleException("tokenizer.json: BPE unk_token '" + unkToken + "' is not in the vocabulary");
                unkId = u;
            }
            for (int r = 0; r < merges.Count; r++)
            {
                int a, b, m;
                if (!vocab.TryGetValue(merges[r].Key, out a) || !vocab.TryGetValue(merges[r].Value, out b))
                    throw new BundleException("tokenizer.json: BPE merge '" + merges[r].Key + " " + merges[r].Value + "' uses a token not in the vocabulary");
                if (!vocab.TryGetValue(merges[r].Key + merges[r].Value, out m))
                    throw new BundleException("tokenizer.json: BPE merge result '" + merges[r].Key + merges[r].Value + "' is not in the vocabulary");
                long key = Key(a, b);
                if (!mergeRank.ContainsKey(key)) { mergeRank[key] = r; mergeResult[key] = m; }
            }
        }

        static long Key(int a, int b) { return ((long)a << 32) | (uint)b; }

        public void Tokenize(string word, List<int> output)
        {
            int[] cached;
            if (cache.TryGetValue(word, out cached)) { output.AddRange(cached); return; }
            var syms = new List<int>(word.Length);
            for (int i = 0; i < word.Length; i++)
            {
                string ch = char.IsHighSurrogate(word[i]) && i + 1 < word.Length ? word.Substring(i++, 2) : word.Substring(i, 1);
                int id;
                if (vocab.TryGetValue(ch, out id)) syms.Add(id);
                else if (unkId.HasValue) syms.Add(unkId.Value);
                // else: dropped, as HF does without an unk token
            }
            while (syms.Count > 1)
            {
                int best = int.MaxValue, at = -1;
                for (int i = 0; i + 1 < syms.Count; i++)
                {
                    int r;
                    if (mergeRank.TryGetValue(Key(syms[i], syms[i + 1]), out r) && r < best) { best = r; at = i; }
                }
                if (at < 0) break;
                syms[at] = mergeResult[Key(syms[at], syms[at + 1])];
                syms.RemoveAt(at + 1);
            }
            if (cache.Count < 100000) cache[word] = syms.ToArray();
            output.AddRange(syms);
        }

        public string IdToToken(int id) { string t; return ids.TryGetValue(id, out t) ? t : null; }
    }

    /// <summary>Unigram LM: the Viterbi best segmentation by summed piece scores; unknown characters fused into one unk.</summary>
    public sealed class UnigramModel : IModel
    {
        readonly string[] pieces;
        readonly double[] scores;
        readonly Dictionary<string, int> pieceIds = new Dictionary<string, int>();
        readonly int unkId;
        readonly double unkScore;
        readonly Trie trie = new Trie();
        const double UnkPenalty = 10.0;

        public UnigramModel(List<KeyValuePair<string, double>> vocab, int unkId)
        {
            pieces = new string[vocab.Count];
            scores = new double[vocab.Count];
            double min = double.MaxValue;
            for (int i = 0; i < vocab.Count; i++)
            {
                pieces[i] = vocab[i].Key;
                scores[i] = vocab[i].Value;
                if (!pieceIds.ContainsKey(pieces[i])) pieceIds[pieces[i]] = i;
                min = Math.Min(min, scores[i]);
                trie.Add(pieces[i], i);
            }
            this.unkId = unkId;
            unkScore = min - UnkPenalty;
        }

        sealed class Trie
        {
            sealed class Node { public Dictionary<char, Node> Next; public int Id = -1; }
            readonly Node root = new Node();

            public void Add(string s, int id)
            {
                var n = root;
                foreach (char c in s)
                {
                    if (n.Next == null) n.Next = new Dictionary<char, Node>();
                    Node m;
                    if (!n.Next.TryGetValue(c, out m)) { m = new Node(); n.Next[c] = m; }
                    n = m;
                }
                if (n.Id < 0) n.Id = id;
            }

            /// <summary>(end offset, id) of every piece that starts at `start`, shortest first.</summary>
            public void PrefixSearch(string s, int start, List<KeyValuePair<int, int>> hits)
            {
                hits.Clear();
                var n = root;
                for (int i = start; i < s.Length; i++)
                {
                    if (n.Next == null || !n.Next.TryGetValue(s[i], out n)) return;
                    if (n.Id >= 0) hits.Add(new KeyValuePair<int, int>(i + 1, n.Id));
                }
            }
        }

        public void Tokenize(string s, List<int> output)
        {
            int size = s.Length;
            if (size == 0) return;
            var bestScore = new double[size + 1];
            var startsAt = new int[size + 1];
            var nodeId = new int[size + 1];
            for (int i = 0; i <= size; i++) startsAt[i] = -1;
            var hits = new List<KeyValuePair<int, int>>();
            int pos = 0;
            while (pos < size)
            {
                double till = bestScore[pos];
                int charLen = char.IsHighSurrogate(s[pos]) && pos + 1 < size && char.IsLowSurrogate(s[pos + 1]) ? 2 : 1;
                bool single = false;
                trie.PrefixSearch(s, pos, hits);
                foreach (var h in hits)
                {
                    int end = h.Key;
                    if (end < size && char.IsLowSurrogate(s[end]) && char.IsHighSurrogate(s[end - 1])) continue; // mid code point
                    double cand = scores[h.Value] + till;
                    if (startsAt[end] < 0 || cand > bestScore[end]) { bestScore[end] = cand; startsAt[end] = pos; nodeId[end] = h.Value; }
                    if (end - pos == charLen) single = true;
                }
                if (!single)
                {
                    int end = pos + charLen;
                    double cand = unkScore + till;
                    if (startsAt[end] < 0 || cand > bestScore[end]) { bestScore[end] = cand; startsAt[end] = pos; nodeId[end] = unkId; }
                }
                pos += charLen;
            }
            // walk back; consecutive unknown pieces fuse into one unk (fuse_unk)
            var rev = new List<int>();
            bool lastUnk = false;
            for (int e = size; e > 0; e = startsAt[e])
            {
                int id = nodeId[e];
                if (id == unkId) { if (!lastUnk) rev.Add(unkId); lastUnk = true; }
                else { rev.Add(id); lastUnk = false; }
            }
            for (int i = rev.Count - 1; i >= 0; i--) output.Add(rev[i]);
        }

        public string IdToToken(int id) { return id >= 0 && id < pieces.Length ? pieces[id] : null; }
    }
}
