// A small, dependency-free JSON reader/writer (RFC 8259). Values map to: Dictionary<string, object>
// (insertion-ordered key list kept in JsonObject), List<object>, string, long (integers), double, bool, null.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Quals
{
    /// <summary>A JSON object that remembers its key order (manifests and vectors are read in file order).</summary>
    public sealed class JsonObject : Dictionary<string, object>
    {
        public readonly List<string> Keys_ = new List<string>();

        public new void Add(string key, object value)
        {
            if (!ContainsKey(key)) Keys_.Add(key);
            base[key] = value;
        }

        public object Get(string key) { object v; return TryGetValue(key, out v) ? v : null; }
        public string Str(string key) { return Get(key) as string; }
        public JsonObject Obj(string key) { return Get(key) as JsonObject; }
        public List<object> Arr(string key) { return Get(key) as List<object>; }
        public bool Has(string key) { return ContainsKey(key); }
    }

    public static class Json
    {
        public static object Parse(string text)
        {
            var p = new Parser(text);
            p.SkipWs();
            object v = p.Value();
            p.SkipWs();
            if (p.Pos != text.Length) throw p.Error("trailing characters");
            return v;
        }

        // ---- typed helpers over parsed values ----
        public static long ToLong(object v)
        {
            if (v is long) return (long)v;
            if (v is double) { double d = (double)v; if (d == Math.Floor(d)) return (long)d; }
            throw new FormatException("expected an integer, got " + Describe(v));
        }

        public static double ToDouble(object v)
        {
            if (v is long) return (long)v;
            if (v is double) return (double)v;
            throw new FormatException("expected a number, got " + Describe(v));
        }

        public static int[] ToIntArray(object v)
        {
            var list = v as List<object>;
            if (list == null) throw new FormatException("expected an array, got " + Describe(v));
            var a = new int[list.Count];
            for (int i = 0; i < a.Length; i++) a[i] = checked((int)ToLong(list[i]));
            return a;
        }

        public static double[] ToDoubleArray(object v)
        {
            var list = v as List<object>;
            if (list == null) throw new FormatException("expected an array, got " + Describe(v));
            var a = new double[list.Count];
            for (int i = 0; i < a.Length; i++) a[i] = ToDouble(list[i]);
            return a;
        }

        static string Describe(object v) { return v == null ? "null" : v.GetType().Name; }

        sealed class Parser
        {
            readonly string s;
            public int Pos;
            public Parser(string text) { s = text; }

            public FormatException Error(string what)
            {
                return new FormatException("JSON: " + what + " at offset " + Pos);
            }

            public void SkipWs()
            {
                while (Pos < s.Length)
                {
                    char c = s[Pos];
                    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') Pos++; else break;
                }
            }

            public object Value()
            {
                if (Pos >= s.Length) throw Error("unexpected end");
                char c = s[Pos];
                switch (c)
                {
                    case '{': return Object();
                    case '[': return Array();
                    case '"': return String();
                    case 't': Literal("true"); return true;
                    case 'f': Literal("false"); return false;
                    case 'n': Literal("null"); return null;
                    default:
                        if (c == '-' || (c >= '0' && c <= '9')) return Number();
                        // Python's json writes these for non-finite floats
                        if (c == 'N') { Literal("NaN"); return double.NaN; }
                        if (c == 'I') { Literal("Infinity"); return double.PositiveInfinity; }
                        throw Error("unexpected character '" + c + "'");
                }
            }

            void Literal(string word)
            {
                if (string.CompareOrdinal(s, Pos, word, 0, word.Length) != 0) throw Error("bad literal");
                Pos += word.Length;
            }

            JsonObject Object()
            {
                var o = new JsonObject();
                Pos++;
                SkipWs();
                if (Pos < s.Length && s[Pos] == '}') { Pos++; return o; }
                while (true)
                {
                    SkipWs();
                    if (Pos >= s.Length || s[Pos] != '"') throw Error("expected a key");
                    string key = String();
                    SkipWs();
                    if (Pos >= s.Length || s[Pos] != ':') throw Error("expected ':'");
                    Pos++;
                    SkipWs();
                    o.Add(key, Value());
                    SkipWs();
                    if (Pos >= s.Length) throw Error("unexpected end in object");
                    if (s[Pos] == ',') { Pos++; continue; }
                    if (s[Pos] == '}') { Pos++; return o; }
                    throw Error("expected ',' or '}'");
                }
            }

            List<object> Array()
            {
                var a = new List<object>();
                Pos++;
                SkipWs();
                if (Pos < s.Length && s[Pos] == ']') { Pos++; return a; }
                while (true)
                {
                    SkipWs();
                    a.Add(Value());
                    SkipWs();
                    if (Pos >= s.Length) throw Error("unexpected end in array");
                    if (s[Pos] == ',') { Pos++; continue; }
                    if (s[Pos] == ']') { Pos++; return a; }
                    throw Error("expected ',' or ']'");
                }
            }

            string String()
            {
                Pos++; // opening quote
                StringBuilder sb = null;
                int start = Pos;
                while (true)
                {
                    if (Pos >= s.Length) throw Error("unterminated string");
                    char c = s[Pos];
                    if (c == '"')
                    {
                        string r = sb == null ? s.Substring(start, Pos - start) : sb.Append(s, start, Pos - start).ToString();
                        Pos++;
                        return r;
                    }
                    if (c == '\\')
                    {
                        if (sb == null) sb = new StringBuilder();
                        sb.Append(s, start, Pos - start);
                        Pos++;
                        if (Pos >= s.Length) throw Error("bad escape");
                        char e = s[Pos++];
                        switch (e)
                        {
                            case '"': sb.Append('"'); break;
                            case '\\': sb.Append('\\'); break;
                            case '/': sb.Append('/'); break;
                            case 'b': sb.Append('\b'); break;
                            case 'f': sb.Append('\f'); break;
                            case 'n': sb.Append('\n'); break;
                            case 'r': sb.Append('\r'); break;
                            case 't': sb.Append('\t'); break;
                            case 'u':
                                if (Pos + 4 > s.Length) throw Error("bad \\u escape");
                                sb.Append((char)int.Parse(s.Substring(Pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                                Pos += 4;
                                break;
                            default: throw Error("bad escape '\\" + e + "'");
                        }
                        start = Pos;
                        continue;
                    }
                    Pos++;
                }
            }

            object Number()
            {
                int start = Pos;
                bool isInt = true;
                if (s[Pos] == '-') Pos++;
                if (Pos < s.Length && s[Pos] == 'I') { Literal("Infinity"); return double.NegativeInfinity; }
                while (Pos < s.Length)
                {
                    char c = s[Pos];
                    if (c >= '0' && c <= '9') { Pos++; continue; }
                    if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') { isInt = false; Pos++; continue; }
                    break;
                }
                string t = s.Substring(start, Pos - start);
                long l;
                if (isInt && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out l)) return l;
                double d;
                if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) throw Error("bad number '" + t + "'");
                return d;
            }
        }

        // ---- writer ----
        public static string Write(object v)
        {
            var sb = new StringBuilder();
            Write(sb, v);
            return sb.ToString();
        }

        public static void Write(StringBuilder sb, object v)
        {
            if (v == null) { sb.Append("null"); return; }
            if (v is string) { WriteString(sb, (string)v); return; }
            if (v is bool) { sb.Append((bool)v ? "true" : "false"); return; }
            if (v is int || v is long) { sb.Append(Convert.ToInt64(v).ToString(CultureInfo.InvariantCulture)); return; }
            if (v is float) { WriteDouble(sb, (double)(float)v); return; }
            if (v is double) { WriteDouble(sb, (double)v); return; }
            var dict = v as IDictionary<string, object>;
            if (dict != null)
            {
                var jo = v as JsonObject;
                IEnumerable<string> keys = jo != null ? (IEnumerable<string>)jo.Keys_ : dict.Keys;
                sb.Append('{');
                bool first = true;
                foreach (var k in keys)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    WriteString(sb, k);
                    sb.Append(": ");
                    Write(sb, dict[k]);
                }
                sb.Append('}');
                return;
            }
            var en = v as System.Collections.IEnumerable;
            if (en != null)
            {
                sb.Append('[');
                bool first = true;
                foreach (var x in en)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    Write(sb, x);
                }
                sb.Append(']');
                return;
            }
            throw new ArgumentException("cannot write " + v.GetType().Name + " as JSON");
        }

        static void WriteDouble(StringBuilder sb, double d)
        {
            if (double.IsNaN(d)) { sb.Append("NaN"); return; }
            if (double.IsInfinity(d)) { sb.Append(d > 0 ? "Infinity" : "-Infinity"); return; }
            string r = d.ToString("R", CultureInfo.InvariantCulture);
            if (r.IndexOf('.') < 0 && r.IndexOf('E') < 0) r += ".0";
            sb.Append(r);
        }

        static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4"));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }
    }
}
