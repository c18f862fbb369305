// float32 arithmetic that reproduces numpy bit for bit on x86-64 (AVX512F/AVX2 builds of numpy 2.x):
// its SIMD exp/log kernels (Cody-Waite + rational minimax, fused multiply-adds) and its pairwise
// summation. The searches compare float32 scores, so equal bits keep ties and orders identical.
using System;
using System.Runtime.CompilerServices;

namespace Quals
{
    public static unsafe class NumpyMath
    {
        /// <summary>fma(a, b, c) for floats, correctly rounded: the product is exact in double; the sum's
        /// rounding error is recovered (TwoSum) to fix the rare double-rounding midpoint case.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Fma(float a, float b, float c)
        {
            double p = (double)a * b;
            double s = p + c;
            // Rounding s to float is wrong only when s sits exactly halfway between two floats (its 29 bits
            // below float precision are 1000...0) and the double sum was inexact: rare, so checked first.
            if ((*(long*)&s & 0x1FFFFFFFL) != 0x10000000L) return (float)s;
            return FmaSlow(p, c, s);
        }

        static float FmaSlow(double p, double c, double s)
        {
            float r = (float)s;
            double d = s - r;
            double bb = s - p;
            double err = (p - (s - bb)) + (c - bb);
            if (d == 0 || err == 0) return r;
            // the exact value lies on err's side of the midpoint s: the neighbour of r when that is away from r
            if ((err > 0) == (d > 0)) return (float)((double)r + 2 * d);
            return r;
        }

        const float Log2e = 1.442695040888963407359924681001892137f;
        const float CodyWaiteHigh = -6.93145752e-1f, CodyWaiteLow = -1.42860677e-6f;
        const float Magic = 12582912.0f; // 0x1.8p23: float add/sub rounds to an integer
        const float ExpP0 = 9.999999999980870924916e-01f, ExpP1 = 7.257664613233124478488e-01f, ExpP2 = 2.473615434895520810817e-01f,
                    ExpP3 = 5.114512081637298353406e-02f, ExpP4 = 6.757896990527504603057e-03f, ExpP5 = 5.082762527590693718096e-04f;
        const float ExpQ0 = 1.0f, ExpQ1 = -2.742335390411667452936e-01f, ExpQ2 = 2.159509375685829852307e-02f;
        const float ExpMax = 88.72283935546875f, ExpMin = -103.97208404541015625f;

        /// <summary>np.exp on float32.</summary>
        public static float Exp(float x)
        {
            if (float.IsNaN(x)) return x;
            if (x >= ExpMax) return float.PositiveInfinity;
            if (x <= ExpMin) return 0f;
            float q = (float)(x * Log2e);
            q = (float)(q + Magic);
            q = (float)(q - Magic);
            float y = Fma(q, CodyWaiteHigh, x);
            y = Fma(q, CodyWaiteLow, y);
            float num = Fma(ExpP5, y, ExpP4);
            num = Fma(num, y, ExpP3);
            num = Fma(num, y, ExpP2);
            num = Fma(num, y, ExpP1);
            num = Fma(num, y, ExpP0);
            float den = Fma(ExpQ2, y, ExpQ1);
            den = Fma(den, y, ExpQ0);
            float p = (float)((double)num / den);
            return (float)(p * Pow2((int)q)); // scalef: exact, or one rounding into the subnormal range
        }

        static double Pow2(int k)
        {
            long bits = (long)(k + 1023) << 52;
            return *(double*)&bits;
        }

        const float LogP0 = 0f, LogP1 = 9.999999999999998702752e-01f, LogP2 = 2.112677543073053063722e+00f,
                    LogP3 = 1.480000633576506585156e+00f, LogP4 = 3.808837741388407920751e-01f, LogP5 = 2.589979117907922693523e-02f;
        const float LogQ0 = 1f, LogQ1 = 2.612677543073109236779e+00f, LogQ2 = 2.453006071784736363091e+00f,
                    LogQ3 = 9.864942958519418960339e-01f, LogQ4 = 1.546476374983906719538e-01f, LogQ5 = 5.875095403124574342950e-03f;
        const float Sqrt1_2 = 0.707106781186547524400844362104849039f, Loge2 = 0.693147180559945309417232121458176568f;

        /// <summary>np.log on float32.</summary>
        public static float Log(float x)
        {
            if (float.IsNaN(x)) return x;
            if (x < 0) return float.NaN;
            if (x == 0) return float.NegativeInfinity;
            if (float.IsPositiveInfinity(x)) return x;
            int extra = 0;
            if (x < 1.17549435e-38f) { x *= 4294967296f; extra = 32; } // subnormal: scale up first
            int bits = *(int*)&x;
            float e = ((bits >> 23) & 0xFF) - 126 - extra;
            int mb = (bits & 0x7FFFFF) | (126 << 23);
            float m = *(float*)&mb; // mantissa in [0.5, 1)
            if (m <= Sqrt1_2) { m = (float)(m + m); e = (float)(e - 1f); }
            float y = (float)(m - 1f);
            float num = Fma(LogP5, y, LogP4);
            num = Fma(num, y, LogP3);
            num = Fma(num, y, LogP2);
            num = Fma(num, y, LogP1);
            num = Fma(num, y, LogP0);
            float den = Fma(LogQ5, y, LogQ4);
            den = Fma(den, y, LogQ3);
            den = Fma(den, y, LogQ2);
            den = Fma(den, y, LogQ1);
            den = Fma(den, y, LogQ0);
            float p = (float)((double)num / den);
            return Fma(e, Loge2, p);
        }

        /// <summary>numpy's float32 pairwise sum (blocks of 128, eight accumulators), as np.add.reduce.</summary>
        public static float PairwiseSum(float* a, int n)
        {
            if (n < 8)
            {
                float r = 0f;
                for (int i = 0; i < n; i++) r = (float)(r + a[i]);
                return r;
            }
            if (n <= 128)
            {
                float r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7];
                int i;
                for (i = 8; i < n - (n % 8); i += 8)
                {
                    r0 = (float)(r0 + a[i]); r1 = (float)(r1 + a[i + 1]); r2 = (float)(r2 + a[i + 2]); r3 = (float)(r3 + a[i + 3]);
                    r4 = (float)(r4 + a[i + 4]); r5 = (float)(r5 + a[i + 5]); r6 = (float)(r6 + a[i + 6]); r7 = (float)(r7 + a[i + 7]);
                }
                float res = (float)((float)((float)(r0 + r1) + (float)(r2 + r3)) + (float)((float)(r4 + r5) + (float)(r6 + r7)));
                for (; i < n; i++) res = (float)(res + a[i]);
                return res;
            }
            int n2 = n / 2;
            n2 -= n2 % 8;
            return (float)(PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2));
        }

        /// <summary>numpy's float64 pairwise sum (np.mean / np.sum of a float64 array).</summary>
        public static double PairwiseSum(double[] a, int start, int n)
        {
            if (n < 8)
            {
                double r = 0;
                for (int i = 0; i < n; i++) r += a[start + i];
                return r;
            }
            if (n <= 128)
            {
                var r = new double[8];
                for (int j = 0; j < 8; j++) r[j] = a[start + j];
                int i;
                for (i = 8; i < n - (n % 8); i += 8) for (int j = 0; j < 8; j++) r[j] += a[start + i + j];
                double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
                for (; i < n; i++) res += a[start + i];
                return res;
            }
            int n2 = n / 2;
            n2 -= n2 % 8;
            return PairwiseSum(a, start, n2) + PairwiseSum(a, start + n2, n - n2);
        }

        public static double Mean(double[] a) { return PairwiseSum(a, 0, a.Length) / a.Length; }

        /// <summary>True (the default): exp follows numpy's float32 kernel bit for bit, so log-probs, ties and
        /// orders equal the Python runtime's exactly. False ($QUALS_FAST_EXP=1, or --fast-exp): Math.Exp rounded
        /// to float, within 2.5 ulp of numpy's; about twice as fast under Mono, log-probs move by ~1e-6.</summary>
        public static bool ExactExp = Environment.GetEnvironmentVariable("QUALS_FAST_EXP") != "1";

        /// <summary>exp of n floats (numpy's kernel with the fused multiply-adds emulated in double).</summary>
        static void ExpExact(float* src, float* dst, int n)
        {
            for (int i = 0; i < n; i++)
            {
                float x = src[i];
                if (!(x > ExpMin)) { dst[i] = float.IsNaN(x) ? x : 0f; continue; }
                if (x >= ExpMax) { dst[i] = float.PositiveInfinity; continue; }
                double qd = (double)(float)((double)(float)((double)(float)(x * Log2e) + Magic) - Magic);
                double y = (float)(qd * CodyWaiteHigh + x);
                y = (float)(qd * CodyWaiteLow + y);
                double num = (float)(ExpP5 * y + ExpP4);
                num = (float)(num * y + ExpP3);
                num = (float)(num * y + ExpP2);
                num = (float)(num * y + ExpP1);
                num = (float)(num * y + ExpP0);
                double den = (float)(ExpQ2 * y + ExpQ1);
                den = (float)(den * y + ExpQ0);
                double p = (float)(num / den);
                dst[i] = (float)(p * Pow2((int)qd));
            }
        }

        // The inlined multiply-adds above round once through double: wrong only when the double result is
        // exactly a float midpoint (probability ~2^-29 per operation). Exp() (with Fma) is the fully exact form.

        /// <summary>log_softmax of one row, as runtime/quals/engine.py: x - max, exp, pairwise sum, log, subtract.
        /// scratch must hold n floats.</summary>
        public static void LogSoftmax(float* x, int n, float* output, float* scratch)
        {
            float m = float.NegativeInfinity;
            for (int i = 0; i < n; i++) if (x[i] > m) m = x[i];
            for (int i = 0; i < n; i++) output[i] = (float)(x[i] - m);
            if (ExactExp) ExpExact(output, scratch, n);
            else for (int i = 0; i < n; i++) scratch[i] = (float)Math.Exp(output[i]);
            float lse = Log(PairwiseSum(scratch, n));
            for (int i = 0; i < n; i++) output[i] = (float)(output[i] - lse);
        }
    }
}
