// quals-csharp.exe memcheck: score many records in one process and check that resident memory stays flat
// (the Java host's io.quals.cli.MemoryCheck does the same).
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Quals;

namespace Quals.Cli
{
    /// <summary>Score many records in one process and check that resident memory stays flat.</summary>
    static class MemoryCheck
    {
        static long RssKb()
        {
            foreach (var l in File.ReadAllLines("/proc/self/status"))
                if (l.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(l.Substring(6).Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            return -1;
        }

        public static int Run(string[] args)
        {
            string model = "build/test-bundles/v7/bundle-bart", ort = null;
            int records = 1000;
            double marginMb = 20;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--model") model = args[++i];
                else if (args[i] == "--records") records = int.Parse(args[++i], CultureInfo.InvariantCulture);
                else if (args[i] == "--margin-mb") marginMb = double.Parse(args[++i], CultureInfo.InvariantCulture);
                else if (args[i] == "--ort") ort = args[++i];
            }
            // the conformance source; with the tiny test bundles the 2nd and 3rd summaries yield QA pairs, so
            // teacher forcing and scoring are exercised, not only the search; one record is an error
            string src = "The city council of Riverton voted 7 to 2 on Tuesday to build a new bridge over the Marlow river. "
                + "The bridge will cost 48 million dollars and should open in 2029, said mayor Helen Okafor. "
                + "Construction will be led by Brandt Engineering, a firm based in Hamburg. "
                + "Opponents argued that the money should go to schools instead.";
            var pairs = new[]
            {
                new[] { src, "Riverton will build a 48 million dollar bridge over the Marlow river, opening in 2029." },
                new[] { src, "The bridge costs 48 million dollars." },
                new[] { src, "The new bridge over the Marlow river should open in 2029" },
                new[] { "Zoë Müller from São Paulo won the €1,200 prize in Tōkyō (東京).", "Zoë Müller won €1,200 in Tōkyō (東京) 🎉" },
                new[] { src, "   " },
            };
            var sw = Stopwatch.StartNew();
            long rss100 = 0, rssEnd = 0;
            int ok = 0;
            using (var q = Scorer.Load(model, ort, 1))
            {
                var hf = Scorer.DefaultOptions(q.Manifest, new OptionOverrides { Search = "hf" });
                for (int i = 1; i <= records; i++)
                {
                    var p = pairs[i % pairs.Length];
                    // both searches (the hf one changes its row count as groups finish)
                    var r = (i / pairs.Length) % 2 == 0 ? q.Score(p[0], p[1]) : q.Score(p[0], p[1], hf);
                    if (r.Status == Result.Ok) ok++;
                    if (i == Math.Min(100, records)) { GC.Collect(); GC.WaitForPendingFinalizers(); rss100 = RssKb(); }
                }
                GC.Collect(); GC.WaitForPendingFinalizers();
                rssEnd = RssKb();
            }
            double growMb = (rssEnd - rss100) / 1024.0;
            bool pass = growMb <= marginMb;
            var o = new JsonObject();
            o.Add("memcheck", pass ? "pass" : "FAIL");
            o.Add("model", model);
            o.Add("records", records);
            o.Add("ok", ok);
            o.Add("rss_mb_after_100", Math.Round(rss100 / 1024.0, 1));
            o.Add("rss_mb_after_last", Math.Round(rssEnd / 1024.0, 1));
            o.Add("growth_mb", Math.Round(growMb, 1));
            o.Add("margin_mb", marginMb);
            o.Add("seconds", Math.Round(sw.Elapsed.TotalSeconds, 1));
            Console.WriteLine(Json.Write(o));
            return pass ? 0 : 1;
        }
    }
}
