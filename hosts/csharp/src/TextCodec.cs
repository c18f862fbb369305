// Text to encoder input ids by the manifest's rules, never the tokenizer's post-processor, and back
// (runtime/quals/text.py; the Java host's io.quals.TextCodec).
using System;
using System.Collections.Generic;
using Quals.Tokenizers;

namespace Quals
{
    /// <summary>Encoder input ids of one text, with its text-token count before truncation.</summary>
    public sealed class Encoded
    {
        public int[] Ids; public int NTextTokens; public bool Truncated;
    }

    public sealed class TextCodec
    {
        public readonly Tokenizer Tokenizer;
        readonly Manifest manifest;

        public TextCodec(Tokenizer tokenizer, Manifest manifest)
        {
            Tokenizer = tokenizer;
            this.manifest = manifest;
        }

        /// <summary>The tokenizer's ids of text, no special tokens added.</summary>
        public List<int> TextIds(string text) { return Tokenizer.Encode(text); }

        /// <summary>Text of ids, special tokens skipped.</summary>
        public string Decode(IList<int> ids) { return Tokenizer.Decode(ids, true); }

        /// <summary>The text as the tokenizer sees it: decode(encode(text)).</summary>
        public string Roundtrip(string text) { return Decode(TextIds(text)); }

        /// <summary>Encoder input ids of (stripped) text: its first max_tokens text tokens, specials per manifest.</summary>
        public Encoded Encode(string text, int? maxTokens)
        {
            int limit = maxTokens ?? manifest.MaxSourceTokens;
            var ids = TextIds(text);
            var outp = new List<int>();
            if (manifest.PrependBos && manifest.Tokens.Bos.HasValue) outp.Add(manifest.Tokens.Bos.Value);
            for (int i = 0; i < Math.Min(limit, ids.Count); i++) outp.Add(ids[i]);
            if (manifest.AppendEos) outp.Add(manifest.Tokens.Eos);
            return new Encoded { Ids = outp.ToArray(), NTextTokens = ids.Count, Truncated = ids.Count > limit };
        }
    }
}
