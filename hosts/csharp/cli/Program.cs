// quals-csharp: the C# host's command line.
//   score --model BUNDLE [--threads N] [--ort LIB] [--search hf|fairseq] [--variant V] [--details] [--fast-exp] [INPUT.jsonl]
//   conformance [--bundle NAME=PATH] [--ort LIB] [--repo DIR] VECTORS_JSON...
//   memcheck [--model BUNDLE] [--records 1000] [--margin-mb 20] [--ort LIB]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using Quals;

namespace Quals.Cli
{
    static class Program
    {
        static int Main(string[] args)
        {
            if (args.Length == 0) { Usage(); return 2; }
            var rest = new string[args.Length - 1];
            Array.Copy(args, 1, rest, 0, rest.Length);
            try
            {
                switch (args[0])
                {
                    case "score": return Score(rest);
                    case "conformance": return Conformance.Run(rest);
                    case "memcheck": return MemoryCheck.Run(rest);
                    default: Usage(); return 2;
                }
            }
            catch (QualsException e)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 1;
            }
        }

        static void Usage()
        {
            Console.Error.WriteLine("usage: quals-csharp.exe score --model BUNDLE [--threads N] [--ort LIB] [--search hf|fairseq] [--variant V] [--details] [--fast-exp] [INPUT.jsonl]\n"
                + "       quals-csharp.exe conformance [--bundle NAME=PATH] [--ort LIB] [--repo DIR] VECTORS_JSON...\n"
                + "       quals-csharp.exe memcheck [--model BUNDLE] [--records N] [--margin-mb M] [--ort LIB]");
        }

        /// <summary>Score a JSONL file ({"source","summary"} per line; stdin when no file): one JSON result per line.</summary>
        static int Score(string[] args)
        {
            string model = "models/default", ort = null, input = null;
            int threads = 0;
            bool details = false;
            var ov = new OptionOverrides();
            for (int i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--model": model = args[++i]; break;
                    case "--threads": threads = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--ort": ort = args[++i]; break;
                    case "--search": ov.Search = args[++i]; break;
                    case "--variant": ov.Variant = args[++i]; break;
                    case "--beams": ov.NumBeams = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--groups": ov.NumGroups = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--max-pairs": ov.MaxPairs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                    case "--details": details = true; break;
                    case "--fast-exp": NumpyMath.ExactExp = false; break;
                    default: input = args[i]; break;
                }
            }
            var loadTimer = Stopwatch.StartNew();
            using (var q = Scorer.Load(model, ort, threads, ov))
            {
                Console.Error.WriteLine("loaded " + model + " in " + loadTimer.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture) + " s; " + q.Signature());
                var reader = input == null ? Console.In : new StreamReader(input, Encoding.UTF8);
                var times = new List<double>();
                var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
                string line;
                int lineNo = 0;
                while ((line = reader.ReadLine()) != null)
                {
                    lineNo++;
                    if (line.Trim().Length == 0) continue;
                    Result r;
                    var sw = Stopwatch.StartNew();
                    try
                    {
                        var rec = Json.Parse(line) as JsonObject;
                        if (rec == null) throw new FormatException("not a JSON object");
                        r = q.Score(rec.Get("source") as string, rec.Get("summary") as string);
                    }
                    catch (FormatException e)
                    {
                        r = new Result { Status = Result.ErrorStatus, Error = "line " + lineNo + ": " + e.Message, Variant = q.Options.Variant };
                    }
                    sw.Stop();
                    times.Add(sw.Elapsed.TotalSeconds);
                    stdout.WriteLine(Json.Write(r.ToJson(details)));
                }
                if (times.Count > 0)
                {
                    var sorted = new List<double>(times);
                    sorted.Sort();
                    double mean = 0;
                    foreach (var t in times) mean += t;
                    mean /= times.Count;
                    double median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
                    Console.Error.WriteLine(string.Format(CultureInfo.InvariantCulture,
                        "scored {0} records; per summary: mean {1:F3} s, median {2:F3} s (threads={3})", times.Count, mean, median, threads));
                }
            }
            return 0;
        }
    }
}
