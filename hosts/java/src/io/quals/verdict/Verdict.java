package io.quals.verdict;

import io.quals.F32;
import io.quals.QualsException.BundleException;
import io.quals.json.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Verdicts beyond the paper (Python: runtime/quals/verdict.py; docs/hosts.md "Verdicts"). A calibration
 * (calibration.json beside the bundle, fitted for that bundle) turns each scored pair into the probability that its
 * fact is supported, and a summary's pairs into p_consistent:
 * x_i = FEATURES of pair i standardised by center and scale; z_i = w . x_i + b, p_supported_i = sigmoid(z_i);
 * p_consistent = sigmoid(v . agg(z) + c); two thresholds on each probability give the verdicts.
 */
public final class Verdict {
    private Verdict() {}

    public static final String CALIBRATION_NAME = "calibration.json";
    public static final String FORMAT_NAME = "quals-calibration";
    public static final int FORMAT_VERSION = 1;
    static final String[] PAIR_VERDICTS = {"supported", "uncertain", "unsupported"};
    static final String[] SUMMARY_VERDICTS = {"consistent", "uncertain", "inconsistent"};

    /** A calibration file that cannot be used with this bundle (Python's CalibrationError, a BundleError). */
    public static final class CalibrationException extends BundleException {
        public CalibrationException(String message) {
            super(message);
        }
    }

    private static boolean wordChar(int c) {
        return Character.isLetter(c) || Character.getType(c) == Character.DECIMAL_DIGIT_NUMBER;
    }

    /** Maximal runs of letters (L*) and decimal digits (Nd): the same words in every host. */
    public static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        int start = -1;
        for (int k = 0; k < text.length(); ) {
            int c = text.codePointAt(k);
            if (wordChar(c)) {
                if (start < 0) start = k;
            } else if (start >= 0) {
                out.add(text.substring(start, k));
                start = -1;
            }
            k += Character.charCount(c);
        }
        if (start >= 0) out.add(text.substring(start));
        return out;
    }

    /** {@code text} without the characters at either end that are neither letters (L*) nor decimal digits (Nd). */
    public static String edgeTrimmed(String text) {
        int a = 0, b = text.length();
        while (a < b && !wordChar(text.codePointAt(a))) a += Character.charCount(text.codePointAt(a));
        while (b > a && !wordChar(text.codePointBefore(b))) b -= Character.charCount(text.codePointBefore(b));
        return text.substring(a, b);
    }

    /** The source as the lexical features read it: lower-cased as written and as the tokenizer sees it, and their words. */
    public static final class SourceText {
        public final String raw, view;
        public final Set<String> words;

        private SourceText(String raw, String view) {
            this.raw = raw;
            this.view = view;
            this.words = new HashSet<>(Verdict.words(raw));
            this.words.addAll(Verdict.words(view));
        }

        /** {@code view}: decode(encode(source)), of the whole source (never truncated). */
        public static SourceText of(String source, String view) {
            return new SourceText(PyRe.lower(source), PyRe.lower(view));
        }
    }

    /** What a pair's features read (Python's PairEvidence). */
    public static final class Evidence {
        public final double[] logpSource, logpSummary, searchScores;
        public final int[] questionIndex, answerIndex;
        public final String answer; // decoded, lower-cased
        public final SourceText source;

        public Evidence(double[] logpSource, double[] logpSummary, double[] searchScores, int[] questionIndex,
                        int[] answerIndex, String answer, SourceText source) {
            this.logpSource = logpSource;
            this.logpSummary = logpSummary;
            this.searchScores = searchScores;
            this.questionIndex = questionIndex;
            this.answerIndex = answerIndex;
            this.answer = answer;
            this.source = source;
        }
    }

    private static double meanAt(double[] a, double[] b, int[] index) {
        if (index.length == 0) return 0.0;
        double[] v = new double[index.length];
        for (int k = 0; k < v.length; k++) v[k] = b == null ? a[index[k]] : a[index[k]] - b[index[k]];
        return F32.mean(v);
    }

    /** name -> feature; a calibration names the ones it uses, in its order. */
    public static final Map<String, ToDoubleFunction<Evidence>> FEATURES = new LinkedHashMap<>();
    static {
        FEATURES.put("answer_diff", e -> meanAt(e.logpSource, e.logpSummary, e.answerIndex));
        FEATURES.put("answer_source", e -> meanAt(e.logpSource, null, e.answerIndex));
        FEATURES.put("answer_summary", e -> meanAt(e.logpSummary, null, e.answerIndex));
        FEATURES.put("pair_diff", e -> F32.mean(e.logpSource) - F32.mean(e.logpSummary));
        FEATURES.put("paper_term", e -> F32.mean(e.logpSource) - F32.mean(e.searchScores));
        FEATURES.put("question_diff", e -> meanAt(e.logpSource, e.logpSummary, e.questionIndex));
        FEATURES.put("answer_in_source", e -> {
            String a = edgeTrimmed(e.answer);
            return !a.isEmpty() && (e.source.raw.contains(a) || e.source.view.contains(a)) ? 1.0 : 0.0;
        });
        FEATURES.put("answer_words_in_source", e -> {
            List<String> ws = words(e.answer);
            if (ws.isEmpty()) return 1.0;
            int n = 0;
            for (String w : ws) if (e.source.words.contains(w)) n++;
            return (double) n / ws.size();
        });
    }

    static final Map<String, Integer> AGGREGATE_SIZE = Map.of("mean", 1, "min", 1, "min+mean", 2, "softmin", 1);

    static double[] aggregate(String name, double[] z) {
        double min = Double.POSITIVE_INFINITY;
        for (double v : z) min = Math.min(min, v);
        switch (name) {
            case "mean": return new double[] {F32.mean(z)};
            case "min": return new double[] {min};
            case "min+mean": return new double[] {min, F32.mean(z)};
            case "softmin": { // -log sum exp(-z): numpy's logaddexp.reduce, left to right
                double acc = -z[0];
                for (int k = 1; k < z.length; k++) acc = logaddexp(acc, -z[k]);
                return new double[] {-acc};
            }
            default: throw new IllegalStateException(name);
        }
    }

    private static double logaddexp(double a, double b) {
        if (a == b) return a + Math.log(2.0);
        double m = Math.max(a, b);
        return m + Math.log1p(Math.exp(-Math.abs(a - b)));
    }

    public static double sigmoid(double x) {
        return x >= 0 ? 1.0 / (1.0 + Math.exp(-x)) : Math.exp(x) / (1.0 + Math.exp(x));
    }

    static String band(double p, double lower, double upper, String[] names) {
        return p >= upper ? names[0] : p < lower ? names[2] : names[1];
    }

    /** One summary's judgement: p_consistent, its verdict, and each pair's p_supported and verdict. */
    public static final class Judgement {
        public final double pConsistent;
        public final String verdict;
        public final double[] pSupported;
        public final String[] pairVerdicts;

        Judgement(double pConsistent, String verdict, double[] pSupported, String[] pairVerdicts) {
            this.pConsistent = pConsistent;
            this.verdict = verdict;
            this.pSupported = pSupported;
            this.pairVerdicts = pairVerdicts;
        }
    }

    /** A fitted calibration (the file's content); {@code id} (sha256 of the file) names it in the signature. */
    public static final class Calibration {
        public final String bundle;
        public final List<String> features;
        public final double[] center, scale, pairWeights, summaryWeights;
        public final double pairBias, summaryBias;
        public final double unsupportedBelow, supportedFrom, inconsistentBelow, consistentFrom;
        public final String aggregate;
        public final Set<String> commonWords;
        public final String id;

        Calibration(Map<String, Object> d, String id) {
            this.id = id;
            if (!FORMAT_NAME.equals(d.get("format")) || !Long.valueOf(FORMAT_VERSION).equals(d.get("format_version")))
                throw new CalibrationException("not a " + FORMAT_NAME + " file of version " + FORMAT_VERSION + " (format "
                        + repr(d.get("format")) + ", version " + repr(d.get("format_version")) + ")");
            try {
                Map<String, Object> pair = Json.obj(d.get("pair")), summ = Json.obj(d.get("summary"));
                bundle = String.valueOf(need(d, "bundle"));
                features = new ArrayList<>();
                for (Object f : Json.arr(d.get("features"))) features.add(String.valueOf(f));
                center = nums(d.get("center"));
                scale = nums(d.get("scale"));
                pairWeights = nums(pair.get("weights"));
                pairBias = num(need(pair, "bias"));
                unsupportedBelow = num(need(pair, "unsupported_below"));
                supportedFrom = num(need(pair, "supported_from"));
                aggregate = String.valueOf(need(d, "aggregate"));
                summaryWeights = nums(summ.get("weights"));
                summaryBias = num(need(summ, "bias"));
                inconsistentBelow = num(need(summ, "inconsistent_below"));
                consistentFrom = num(need(summ, "consistent_from"));
                commonWords = new HashSet<>();
                for (Object w : Json.arr(Json.obj(d.get("facts")).get("common_words"))) commonWords.add(String.valueOf(w));
            } catch (RuntimeException e) {
                throw new CalibrationException("calibration: missing or malformed field (" + e.getMessage() + ")");
            }
            List<String> unknown = new ArrayList<>();
            for (String f : features) if (!FEATURES.containsKey(f)) unknown.add(f);
            if (!unknown.isEmpty())
                throw new CalibrationException("calibration uses unknown feature(s) " + String.join(", ", unknown)
                        + "; this quals knows " + String.join(", ", FEATURES.keySet()));
            if (!AGGREGATE_SIZE.containsKey(aggregate))
                throw new CalibrationException("calibration uses unknown aggregate " + repr(aggregate));
            int n = features.size();
            if (!(center.length == n && scale.length == n && pairWeights.length == n))
                throw new CalibrationException("calibration: center, scale and pair weights need one value per feature");
            int k = AGGREGATE_SIZE.get(aggregate);
            if (summaryWeights.length != k)
                throw new CalibrationException("calibration: the " + aggregate + " aggregate needs " + k + " summary weight(s)");
            if (commonWords.isEmpty())
                throw new CalibrationException("calibration: facts.common_words is empty (the word list of quals.facts)");
            for (double[] t : new double[][] {{unsupportedBelow, supportedFrom}, {inconsistentBelow, consistentFrom}})
                if (!(0.0 <= t[0] && t[0] <= t[1] && t[1] <= 1.0))
                    throw new CalibrationException("calibration: thresholds must satisfy 0 <= lower <= upper <= 1");
        }

        /** The value of each of the calibration's features, in its order. */
        public double[] featureValues(Evidence e) {
            double[] x = new double[features.size()];
            for (int k = 0; k < x.length; k++) x[k] = FEATURES.get(features.get(k)).applyAsDouble(e);
            return x;
        }

        /** The pair's logit z = sum_k w_k (x_k - center_k) / scale_k + b. */
        public double pairLogit(Evidence e) {
            double[] x = featureValues(e);
            double s = 0;
            for (int k = 0; k < x.length; k++) s += pairWeights[k] * ((x[k] - center[k]) / scale[k]);
            return s + pairBias;
        }

        /** The verdicts of one summary's pairs; null when it has no pair. */
        public Judgement judge(List<Evidence> evidence) {
            if (evidence.isEmpty()) return null;
            double[] z = new double[evidence.size()], p = new double[z.length];
            String[] v = new String[z.length];
            for (int i = 0; i < z.length; i++) {
                z[i] = pairLogit(evidence.get(i));
                p[i] = sigmoid(z[i]);
                v[i] = band(p[i], unsupportedBelow, supportedFrom, PAIR_VERDICTS);
            }
            double[] a = aggregate(aggregate, z);
            double s = 0;
            for (int k = 0; k < a.length; k++) s += summaryWeights[k] * a[k];
            double pc = sigmoid(s + summaryBias);
            return new Judgement(pc, band(pc, inconsistentBelow, consistentFrom, SUMMARY_VERDICTS), p, v);
        }
    }

    private static Object need(Map<String, Object> m, String key) {
        if (!m.containsKey(key) || m.get(key) == null) throw new IllegalArgumentException("'" + key + "' missing");
        return m.get(key);
    }

    private static double num(Object v) {
        if (v instanceof Number) return ((Number) v).doubleValue();
        if (v instanceof String && !((String) v).trim().isEmpty()) return Double.parseDouble(((String) v).trim());
        throw new IllegalArgumentException("not a number: " + repr(v));
    }

    private static double[] nums(Object v) {
        List<Object> a = Json.arr(v);
        double[] out = new double[a.size()];
        for (int k = 0; k < out.length; k++) out[k] = num(a.get(k));
        return out;
    }

    private static String repr(Object v) {
        return v == null ? "None" : v instanceof String ? "'" + v + "'" : Json.write(v);
    }

    static String sha256Hex(byte[] data) {
        try {
            StringBuilder b = new StringBuilder();
            for (byte x : MessageDigest.getInstance("SHA-256").digest(data)) b.append(String.format("%02x", x));
            return b.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The calibration beside a bundle, or null when it has none. Refused when it was fitted for another bundle: a
     * calibration reads one model's log-probs, and a changed model needs a refit.
     */
    public static Calibration load(Path bundleDir, String bundleDigest) {
        Path path = bundleDir.resolve(CALIBRATION_NAME);
        if (!Files.isRegularFile(path)) return null;
        byte[] data;
        try {
            data = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new CalibrationException(path + ": cannot read calibration (" + e.getMessage() + ")");
        }
        Object parsed;
        try {
            String text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(data)).toString();
            parsed = Json.parse(text);
        } catch (CharacterCodingException | RuntimeException e) {
            throw new CalibrationException(path + ": corrupt calibration (" + e.getMessage() + ")");
        }
        if (!(parsed instanceof Map)) throw new CalibrationException(path + ": corrupt calibration (not a JSON object)");
        Calibration cal = new Calibration(Json.obj(parsed), sha256Hex(data));
        if (!cal.bundle.equals(bundleDigest))
            throw new CalibrationException(path + " was fitted for bundle " + prefix(cal.bundle) + ", not this one ("
                    + prefix(bundleDigest) + "): refit it (python -m quals.train.calibrate --model " + bundleDir
                    + ") or remove it to score without verdicts");
        return cal;
    }

    private static String prefix(String s) {
        return s.substring(0, Math.min(12, s.length()));
    }
}
