// Unicode NFD / NFKC on the host's own tables (UnicodeTables.cs): Mono's String.Normalize misses many
// mappings (e.g. the "fi" ligature under NFKC), and the tokenizer must match HF's output exactly.
using System.Collections.Generic;
using System.Text;

namespace Quals.Tokenizers
{
    public static class Normalization
    {
        static Dictionary<int, int[]> nfd, nfkd;
        static Dictionary<int, int> ccc;
        static Dictionary<long, int> compose;
        static readonly object gate = new object();

        const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28;
        const int NCount = VCount * TCount, SCount = LCount * NCount;

        static void Load()
        {
            lock (gate)
            {
                if (nfd != null) return;
                var d = Maps(UnicodeTables.Nfd);
                var k = Maps(UnicodeTables.Nfkd);
                var c = new Dictionary<int, int>();
                foreach (var e in Entries(UnicodeTables.Ccc)) c[Hex(e.Key)] = int.Parse(e.Value);
                var comp = new Dictionary<long, int>();
                foreach (var e in Entries(UnicodeTables.Compose))
                {
                    var ab = e.Key.Split(' ');
                    comp[Pair(Hex(ab[0]), Hex(ab[1]))] = Hex(e.Value);
                }
                nfkd = k; ccc = c; compose = comp; nfd = d;
            }
        }

        static IEnumerable<KeyValuePair<string, string>> Entries(string table)
        {
            foreach (var row in table.Split(';'))
            {
                if (row.Length == 0) continue;
                int eq = row.IndexOf('=');
                yield return new KeyValuePair<string, string>(row.Substring(0, eq), row.Substring(eq + 1));
            }
        }

        static Dictionary<int, int[]> Maps(string table)
        {
            var m = new Dictionary<int, int[]>();
            foreach (var e in Entries(table))
            {
                var parts = e.Value.Split(' ');
                var cps = new int[parts.Length];
                for (int i = 0; i < parts.Length; i++) cps[i] = Hex(parts[i]);
                m[Hex(e.Key)] = cps;
            }
            return m;
        }

        static int Hex(string s) { return int.Parse(s, System.Globalization.NumberStyles.HexNumber); }
        static long Pair(int a, int b) { return ((long)a << 21) | (long)(uint)b; }

        static int Ccc(int cp) { int c; return ccc.TryGetValue(cp, out c) ? c : 0; }

        static List<int> Decompose(string s, bool compat)
        {
            Load();
            var outp = new List<int>(s.Length + 4);
            foreach (int cp in Unicode.CodePoints(s))
            {
                int[] m;
                if (cp >= SBase && cp < SBase + SCount)
                {
                    int si = cp - SBase;
                    outp.Add(LBase + si / NCount);
                    outp.Add(VBase + (si % NCount) / TCount);
                    if (si % TCount != 0) outp.Add(TBase + si % TCount);
                }
                else if (compat && nfkd.TryGetValue(cp, out m)) outp.AddRange(m);
                else if (nfd.TryGetValue(cp, out m)) outp.AddRange(m);
                else outp.Add(cp);
            }
            // canonical ordering: stable sort of each run of non-starters by combining class
            for (int i = 1; i < outp.Count; i++)
            {
                int c = Ccc(outp[i]);
                if (c == 0) continue;
                int j = i;
                int cp = outp[i];
                while (j > 0 && Ccc(outp[j - 1]) > c) { outp[j] = outp[j - 1]; j--; }
                outp[j] = cp;
            }
            return outp;
        }

        static List<int> Compose(List<int> cps)
        {
            if (cps.Count == 0) return cps;
            var res = new List<int>(cps.Count);
            int starterIdx = -1;
            int lastCcc = -1;
            foreach (int cp in cps)
            {
                int c = Ccc(cp);
                if (starterIdx >= 0)
                {
                    int starter = res[starterIdx];
                    bool blocked = res.Count - 1 > starterIdx && (lastCcc == 0 || lastCcc >= c);
                    if (!blocked)
                    {
                        // Hangul LV / LVT
                        if (starter >= LBase && starter < LBase + LCount && cp >= VBase && cp < VBase + VCount && res.Count - 1 == starterIdx)
                        {
                            res[starterIdx] = SBase + ((starter - LBase) * VCount + (cp - VBase)) * TCount;
                            continue;
                        }
                        if (starter >= SBase && starter < SBase + SCount && (starter - SBase) % TCount == 0 && cp > TBase && cp < TBase + TCount && res.Count - 1 == starterIdx)
                        {
                            res[starterIdx] = starter + (cp - TBase);
                            continue;
                        }
                        int composed;
                        if (compose.TryGetValue(Pair(starter, cp), out composed))
                        {
                            res[starterIdx] = composed;
                            continue;
                        }
                    }
                }
                if (c == 0) { starterIdx = res.Count; lastCcc = -1; }
                else lastCcc = c;
                res.Add(cp);
                if (c == 0) lastCcc = 0;
            }
            return res;
        }

        static string ToStr(List<int> cps) { return Unicode.FromCodePoints(cps, 0, cps.Count); }

        public static string Nfd(string s) { return ToStr(Decompose(s, false)); }
        public static string Nfkd(string s) { return ToStr(Decompose(s, true)); }
        public static string Nfc(string s) { return ToStr(Compose(Decompose(s, false))); }
        public static string Nfkc(string s) { return ToStr(Compose(Decompose(s, true))); }
    }
}
