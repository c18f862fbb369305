// ONNX sessions and the two decoder passes QUALS needs (runtime/quals/engine.py):
// * DecoderState.Step: one incremental step with the KV cache, for the searches. The cross-attention KV
//   comes out of step 0 and is reused as is by every later step; only the self-attention KV is gathered
//   by parent row, in native memory.
// * Engine.TeacherForced: per-token log-probs of whole target sequences, one batched pass per 64 rows.
// Works with the merged decoder (use_cache_branch) or the split pair.
using System;
using System.Collections.Generic;
using Quals.Native;

namespace Quals
{
    /// <summary>One encoded source: last_hidden_state (1, S, d), owned until Dispose.</summary>
    public sealed class EncoderOutput : IDisposable
    {
        public readonly Tensor Hidden;
        public int Length { get { return (int)Hidden.Shape[1]; } }
        public int Width { get { return (int)Hidden.Shape[2]; } }
        public EncoderOutput(Tensor hidden) { Hidden = hidden; }
        public void Dispose() { Hidden.Dispose(); }
    }

    public sealed unsafe class Engine : IDisposable
    {
        readonly IOrtBackend ort;
        readonly Manifest m;
        readonly object encoder, decoder, decoderPast;
        readonly HashSet<string> decInputs, pastInputs;
        public readonly bool Merged;
        public readonly int Layers, Heads, HeadDim;
        public const long LogitsBudget = 8L << 20; // logits per teacher-forcing call, as runtime/quals/engine.py
        internal string MergedFlagName { get { return m.UseCacheBranch; } }

        public Engine(Bundle bundle, IOrtBackend backend, int threads)
        {
            ort = backend;
            m = bundle.Manifest;
            Merged = m.MergedDecoder;
            Layers = m.NumLayers; Heads = m.NumHeads; HeadDim = m.HeadDim;
            try
            {
                encoder = ort.OpenSession(bundle.File("encoder"), threads);
                if (Merged)
                {
                    decoder = ort.OpenSession(bundle.File("decoder_merged"), threads);
                    decoderPast = decoder;
                }
                else
                {
                    decoder = ort.OpenSession(bundle.File("decoder"), threads);
                    decoderPast = ort.OpenSession(bundle.File("decoder_with_past"), threads);
                }
            }
            catch { Dispose(); throw; }
            decInputs = new HashSet<string>(ort.InputNames(decoder));
            pastInputs = new HashSet<string>(ort.InputNames(decoderPast));
        }

        public void Dispose()
        {
            if (encoder != null) ort.CloseSession(encoder);
            if (decoder != null) ort.CloseSession(decoder);
            if (decoderPast != null && !ReferenceEquals(decoderPast, decoder)) ort.CloseSession(decoderPast);
        }

        internal string Past(int layer, string side, string kv) { return Manifest.Name(m.PastInput, layer, side, kv); }
        internal string Present(int layer, string side, string kv) { return Manifest.Name(m.PresentOutput, layer, side, kv); }

        // ---- encoder ----
        public EncoderOutput Encode(int[] ids)
        {
            var idv = new long[ids.Length];
            var mask = new long[ids.Length];
            for (int i = 0; i < ids.Length; i++) { idv[i] = ids[i]; mask[i] = 1; }
            using (var tIds = HostTensor.FromLongs(idv, 1, ids.Length))
            using (var tMask = HostTensor.FromLongs(mask, 1, ids.Length))
            {
                var outs = ort.Run(encoder, new[] { "input_ids", "attention_mask" }, new Tensor[] { tIds, tMask }, new[] { "last_hidden_state" });
                return new EncoderOutput(outs[0]);
            }
        }

        internal HostTensor Mask(EncoderOutput enc, int n)
        {
            var t = new HostTensor(ElementType.Int64, n, enc.Length);
            long* p = (long*)t.Data;
            for (long i = 0, c = t.Count; i < c; i++) p[i] = 1;
            return t;
        }

        /// <summary>The decoder over whole prefixes (n, T) with no past. Returns the requested outputs.</summary>
        internal Tensor[] RunFull(EncoderOutput enc, long[] inputIds, int n, int T, string[] outputs)
        {
            var names = new List<string>();
            var feeds = new List<Tensor>();
            var owned = new List<Tensor>();
            try
            {
                var ids = HostTensor.FromLongs(inputIds, n, T); owned.Add(ids);
                names.Add("input_ids"); feeds.Add(ids);
                // encoder_hidden_states broadcast to n rows
                var hidden = new HostTensor(ElementType.Float, n, enc.Length, enc.Width); owned.Add(hidden);
                long rowBytes = enc.Hidden.Bytes;
                for (int i = 0; i < n; i++)
                    Buffer.MemoryCopy((void*)enc.Hidden.Data, (byte*)hidden.Data + i * rowBytes, rowBytes, rowBytes);
                names.Add("encoder_hidden_states"); feeds.Add(hidden);
                var mask = Mask(enc, n); owned.Add(mask);
                names.Add("encoder_attention_mask"); feeds.Add(mask);
                if (Merged)
                {
                    var empty = new HostTensor(ElementType.Float, n, Heads, 0, HeadDim); owned.Add(empty);
                    for (int l = 0; l < Layers; l++)
                        foreach (var side in new[] { "decoder", "encoder" })
                            foreach (var kv in new[] { "key", "value" }) { names.Add(Past(l, side, kv)); feeds.Add(empty); }
                    var flag = HostTensor.Scalar(false); owned.Add(flag);
                    names.Add(m.UseCacheBranch); feeds.Add(flag);
                }
                for (int i = names.Count - 1; i >= 0; i--)
                    if (!decInputs.Contains(names[i])) { names.RemoveAt(i); feeds.RemoveAt(i); }
                return ort.Run(decoder, names.ToArray(), feeds.ToArray(), outputs);
            }
            finally { foreach (var t in owned) t.Dispose(); }
        }

        /// <summary>Per-token log p(target_t | target_&lt;t, source) for each target (decoder input: start + target[:-1]).</summary>
        public List<float[]> TeacherForced(EncoderOutput enc, IList<int[]> targets, int maxRows = 64)
        {
            var result = new List<float[]>(targets.Count);
            if (targets.Count == 0) return result;
            int start = m.Tokens.DecoderStart, pad = m.Tokens.Pad;
            // chunks of at most maxRows rows and LogitsBudget logits, sized by the record's longest target
            // (the Python runtime's rule: int8 bundles quantize activations per call, so the rows of each
            // call must be the same)
            int longest = 0;
            foreach (var t in targets) longest = Math.Max(longest, t.Length);
            int rows = (int)Math.Max(1, Math.Min(maxRows, LogitsBudget / ((long)longest * m.VocabSize)));
            for (int lo = 0; lo < targets.Count; lo += rows)
            {
                int n = Math.Min(rows, targets.Count - lo);
                int width = 0;
                for (int i = 0; i < n; i++) width = Math.Max(width, targets[lo + i].Length);
                var inp = new long[n * width];
                for (int i = 0; i < inp.Length; i++) inp[i] = pad;
                for (int i = 0; i < n; i++)
                {
                    var t = targets[lo + i];
                    for (int j = 0; j < t.Length; j++) inp[i * width + j] = j == 0 ? start : t[j - 1];
                }
                var outs = RunFull(enc, inp, n, width, new[] { "logits" });
                using (var logits = outs[0])
                {
                    int V = (int)logits.Shape[2];
                    var buf = new float[V];
                    var scratch = new float[V];
                    fixed (float* pb = buf, ps = scratch)
                    {
                        float* L = (float*)logits.Data;
                        for (int i = 0; i < n; i++)
                        {
                            var t = targets[lo + i];
                            var lp = new float[t.Length];
                            for (int j = 0; j < t.Length; j++)
                            {
                                NumpyMath.LogSoftmax(L + ((long)i * width + j) * V, V, pb, ps);
                                lp[j] = pb[t[j]];
                            }
                            result.Add(lp);
                        }
                    }
                }
            }
            return result;
        }

        public DecoderState Start(EncoderOutput enc, int nRows) { return new DecoderState(this, enc, nRows); }

        internal Tensor[] RunPast(string[] names, Tensor[] feeds, string[] outputs)
        {
            var n = new List<string>();
            var f = new List<Tensor>();
            for (int i = 0; i < names.Length; i++) if (pastInputs.Contains(names[i])) { n.Add(names[i]); f.Add(feeds[i]); }
            return ort.Run(decoderPast, n.ToArray(), f.ToArray(), outputs);
        }
    }

    static class Profile
    {
        public static readonly System.Diagnostics.Stopwatch Ort = new System.Diagnostics.Stopwatch(), Softmax = new System.Diagnostics.Stopwatch();
        static Profile()
        {
            if (Environment.GetEnvironmentVariable("QUALS_PROFILE") == "1")
                AppDomain.CurrentDomain.ProcessExit += (s, e) => Console.Error.WriteLine("profile: decoder steps (ORT + KV gather) "
                    + Ort.Elapsed.TotalSeconds.ToString("F2") + " s, step log-softmax " + Softmax.Elapsed.TotalSeconds.ToString("F2") + " s");
        }
    }

    /// <summary>Incremental decoding of n rows over one encoded source: a search's step function.</summary>
    public sealed unsafe class DecoderState : IDisposable
    {
        readonly Engine e;
        readonly EncoderOutput enc;
        int n;
        Tensor[] selfKv;   // [layer*2 + kv] present.*.decoder.*, (n, H, t, Dh)
        Tensor[] crossKv;  // [layer*2 + kv] present.*.encoder.*, (n, H, S, Dh), from step 0
        float[] logp = new float[0];
        float[] scratch = new float[0];
        readonly string[] selfPastNames, crossPastNames, selfPresentNames, crossPresentNames;
        public int Steps { get; private set; }
        public int Vocab { get; private set; }

        internal DecoderState(Engine engine, EncoderOutput enc, int nRows)
        {
            e = engine;
            this.enc = enc;
            n = nRows;
            int k = e.Layers * 2;
            selfPastNames = new string[k]; crossPastNames = new string[k]; selfPresentNames = new string[k]; crossPresentNames = new string[k];
            for (int l = 0; l < e.Layers; l++)
                for (int j = 0; j < 2; j++)
                {
                    string kv = j == 0 ? "key" : "value";
                    selfPastNames[l * 2 + j] = e.Past(l, "decoder", kv);
                    crossPastNames[l * 2 + j] = e.Past(l, "encoder", kv);
                    selfPresentNames[l * 2 + j] = e.Present(l, "decoder", kv);
                    crossPresentNames[l * 2 + j] = e.Present(l, "encoder", kv);
                }
        }

        /// <summary>tokens: the token just appended to each row (the decoder start on the first call);
        /// parents: the previous row each row extends (null on the first call). Returns log-probs (n x V),
        /// a buffer reused by the next call.</summary>
        public float[] Step(int[] tokens, int[] parents)
        {
            Profile.Ort.Start();
            int rows = tokens.Length;
            var ids = new long[rows];
            for (int i = 0; i < rows; i++) ids[i] = tokens[i];
            Tensor[] outs;
            if (selfKv == null)
            {
                var names = new List<string> { "logits" };
                names.AddRange(selfPresentNames);
                names.AddRange(crossPresentNames);
                outs = e.RunFull(enc, ids, rows, 1, names.ToArray());
                crossKv = new Tensor[selfPresentNames.Length];
                Array.Copy(outs, 1 + selfPresentNames.Length, crossKv, 0, crossKv.Length);
            }
            else
            {
                if (parents == null) throw new ArgumentException("parents are required after the first step");
                var owned = new List<Tensor>();
                try
                {
                    if (rows != n) // rows pruned or added: the cross KV follows (all rows share one source)
                    {
                        var moved = new Tensor[crossKv.Length];
                        for (int i = 0; i < crossKv.Length; i++) { moved[i] = Gather(crossKv[i], parents); crossKv[i].Dispose(); }
                        crossKv = moved;
                    }
                    var names = new List<string>();
                    var feeds = new List<Tensor>();
                    for (int i = 0; i < crossKv.Length; i++) { names.Add(crossPastNames[i]); feeds.Add(crossKv[i]); }
                    for (int i = 0; i < selfKv.Length; i++)
                    {
                        var g = Gather(selfKv[i], parents); owned.Add(g);
                        names.Add(selfPastNames[i]); feeds.Add(g);
                    }
                    var tIds = HostTensor.FromLongs(ids, rows, 1); owned.Add(tIds);
                    names.Add("input_ids"); feeds.Add(tIds);
                    var mask = e.Mask(enc, rows); owned.Add(mask);
                    names.Add("encoder_attention_mask"); feeds.Add(mask);
                    if (e.Merged)
                    {
                        var hs = new HostTensor(ElementType.Float, rows, 1, enc.Width); owned.Add(hs);
                        for (long i = 0, c = hs.Count; i < c; i++) ((float*)hs.Data)[i] = 0f;
                        names.Add("encoder_hidden_states"); feeds.Add(hs);
                        var flag = HostTensor.Scalar(true); owned.Add(flag);
                        names.Add(e.MergedFlagName); feeds.Add(flag);
                    }
                    var outNames = new List<string> { "logits" };
                    outNames.AddRange(selfPresentNames);
                    outs = e.RunPast(names.ToArray(), feeds.ToArray(), outNames.ToArray());
                }
                finally { foreach (var t in owned) t.Dispose(); }
                foreach (var t in selfKv) t.Dispose();
            }
            selfKv = new Tensor[selfPresentNames.Length];
            Array.Copy(outs, 1, selfKv, 0, selfKv.Length);
            n = rows;
            Steps++;
            Profile.Ort.Stop();
            Profile.Softmax.Start();
            using (var logits = outs[0])
            {
                int T = (int)logits.Shape[1], V = (int)logits.Shape[2];
                Vocab = V;
                if (logp.Length != rows * V) logp = new float[rows * V];
                if (scratch.Length != V) scratch = new float[V];
                fixed (float* pl = logp, ps = scratch)
                {
                    float* L = (float*)logits.Data;
                    for (int i = 0; i < rows; i++)
                        NumpyMath.LogSoftmax(L + ((long)i * T + (T - 1)) * V, V, pl + (long)i * V, ps);
                }
            }
            Profile.Softmax.Stop();
            return logp;
        }

        /// <summary>Rows of a (n, ...) float tensor picked by index, into new host memory.</summary>
        static Tensor Gather(Tensor src, int[] rows)
        {
            var shape = (long[])src.Shape.Clone();
            shape[0] = rows.Length;
            var dst = new HostTensor(ElementType.Float, shape);
            long rowBytes = src.Bytes / src.Shape[0];
            byte* s = (byte*)src.Data, d = (byte*)dst.Data;
            for (int i = 0; i < rows.Length; i++)
                Buffer.MemoryCopy(s + rows[i] * rowBytes, d + i * rowBytes, rowBytes, rowBytes);
            return dst;
        }

        public void Dispose()
        {
            if (selfKv != null) foreach (var t in selfKv) t.Dispose();
            if (crossKv != null) foreach (var t in crossKv) t.Dispose();
            selfKv = crossKv = null;
        }
    }
}
