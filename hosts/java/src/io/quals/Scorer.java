package io.quals;

import io.quals.QualsException.BundleException;
import io.quals.QualsException.InputException;
import io.quals.ort.JniOrtBackend;
import io.quals.ort.OrtBackend;
import io.quals.ort.OrtLibrary;
import io.quals.search.FairseqSearch;
import io.quals.search.HfSearch;
import io.quals.search.Hypothesis;
import io.quals.search.SearchOptions;
import io.quals.tokenizer.Tokenizer;
import io.quals.verdict.Coverage;
import io.quals.verdict.Readable;
import io.quals.verdict.Verdict;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * QUALS scorer over a bundle (the Java counterpart of the Python Scorer).
 *
 * <pre>
 * try (Scorer q = Scorer.load(Path.of("models/default"))) {
 *     Result r = q.score(source, summary);
 * }
 * </pre>
 *
 * Per record: encode the summary, run the diverse beam search, parse and select QA pairs, teacher-force them
 * on the summary and on the source, then score. A record that cannot be scored gets status "error" and a
 * message; bundle problems raise {@link BundleException}. Not thread-safe: use one instance per thread.
 */
public final class Scorer implements AutoCloseable {
    public final Bundle bundle;
    public final Manifest manifest;
    public final TextCodec codec;
    private final Engine engine;
    private final OrtBackend backend;
    private final boolean ownsBackend;
    private final QualsOptions defaults;
    private final Set<Integer> ignore = new HashSet<>();
    /** The verdict mode's calibration (calibration.json beside the bundle); null: the bundle has none. */
    public final Verdict.Calibration calibration;

    private Scorer(Bundle bundle, OrtBackend backend, boolean ownsBackend, int threads) {
        this.bundle = bundle;
        this.manifest = bundle.manifest;
        Path tokPath = bundle.file("tokenizer");
        Tokenizer tok;
        try {
            tok = Tokenizer.load(tokPath);
        } catch (Exception e) {
            throw new BundleException(tokPath + ": cannot load tokenizer (" + e.getMessage() + ")", e);
        }
        this.codec = new TextCodec(tok, manifest);
        this.defaults = QualsOptions.defaults(manifest, Map.of());
        this.calibration = Verdict.load(bundle.path, bundle.digest());
        this.backend = backend;
        this.ownsBackend = ownsBackend;
        this.engine = new Engine(bundle, backend, threads);
        for (int id : manifest.ansLmIgnoreIds) ignore.add(id);
        ignore.add(manifest.eos);
        if (manifest.bos != null) ignore.add(manifest.bos);
    }

    /** Loads a bundle with ONNX Runtime found as {@link OrtLibrary#locate} says, default thread count. */
    public static Scorer load(Path bundle) {
        return load(bundle, (Path) null, 0);
    }

    /**
     * @param ortLibrary libonnxruntime.so (null: $QUALS_ONNXRUNTIME_LIB, else an installed onnxruntime wheel)
     * @param threads intra-op threads (0: ONNX Runtime's default)
     */
    public static Scorer load(Path bundle, Path ortLibrary, int threads) {
        Bundle b = Bundle.load(bundle, true);
        OrtBackend backend = new JniOrtBackend(OrtLibrary.locate(ortLibrary, bundle));
        try {
            return new Scorer(b, backend, true, threads);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
    }

    /** Loads a bundle over a caller's backend (e.g. one over the official ONNX Runtime jar); the caller closes it. */
    public static Scorer load(Path bundle, OrtBackend backend, int threads) {
        return new Scorer(Bundle.load(bundle, true), backend, false, threads);
    }

    /** The manifest's default options. */
    public QualsOptions options() {
        return defaults;
    }

    /** The manifest's defaults with overrides, by Python name (search, num_beams, variant, max_pairs, ...). */
    public QualsOptions options(Map<String, ?> overrides) {
        return QualsOptions.defaults(manifest, overrides);
    }

    public Result score(String source, String summary) {
        return score(source, summary, defaults);
    }

    public Result score(String source, String summary, QualsOptions o) {
        if (source == null || summary == null) return Result.error("source and summary must be strings", o.variant);
        String summ = Strings.strip(summary), src = Strings.strip(source);
        if (summ.isEmpty()) return Result.error("summary is empty", o.variant);
        if (src.isEmpty()) return Result.error("source is empty", o.variant);
        try {
            return scoreStripped(src, summ, o);
        } catch (RuntimeException e) { // one record's failure must not stop the caller's batch
            return Result.error(e.getClass().getSimpleName() + ": " + e.getMessage(), o.variant);
        }
    }

    private Result scoreStripped(String source, String summary, QualsOptions o) {
        int limit = o.sourceLimit(manifest);
        TextCodec.Encoded summEnc = codec.encode(summary, limit);
        Engine.EncoderOutput enc = engine.encode(summEnc.ids);
        List<Hypothesis> hyps = search(enc, o.search);
        String view = codec.roundtrip(summary);
        List<QaPair> spanValid = new ArrayList<>();
        for (Hypothesis h : hyps) {
            QaPair p = QaPair.parse(h, manifest.separatorId, manifest.eos, codec::decode);
            if (p != null && QaPair.answerInSummary(p.answer, summary, view)) spanValid.add(p);
        }
        List<QaPair> selected = QaPair.select(spanValid, o.maxPairs);
        IdentityHashMap<Hypothesis, Integer> index = new IdentityHashMap<>();
        for (int i = 0; i < hyps.size(); i++) index.put(hyps.get(i), i);
        int[] spanIdx = spanValid.stream().mapToInt(p -> index.get(p.hypothesis)).toArray();
        int[] selIdx = selected.stream().mapToInt(p -> index.get(p.hypothesis)).toArray();
        TextCodec.Encoded srcEnc = codec.encode(source, limit);
        if (selected.isEmpty())
            return new Result(null, Result.NO_PAIRS, null, o.variant, hyps, spanIdx, selIdx, srcEnc, summEnc, List.of());
        List<int[]> targets = new ArrayList<>();
        for (QaPair p : selected) targets.add(p.tokens);
        List<double[]> onSummary = engine.teacherForced(enc, targets, o.rescoreRows);
        List<Coverage.Target> coverage = List.of();
        List<double[]> coverageOnSummary = List.of();
        if (calibration != null) {
            List<String> answers = new ArrayList<>();
            for (QaPair p : selected) answers.add(p.answer);
            coverage = Coverage.targets(summary, answers, codec, manifest.separatorId, manifest.eos, calibration.commonWords);
            if (!coverage.isEmpty()) { // calls of their own: the selected pairs' calls stay as they were
                List<int[]> ct = new ArrayList<>();
                for (Coverage.Target c : coverage) ct.add(c.tokens);
                coverageOnSummary = engine.teacherForced(enc, ct, o.rescoreRows);
            }
        }
        Engine.EncoderOutput srcOut = engine.encode(srcEnc.ids);
        List<double[]> onSource = engine.teacherForced(srcOut, targets, o.rescoreRows);
        List<PairScore> scored = new ArrayList<>();
        for (int i = 0; i < selected.size(); i++)
            scored.add(new PairScore(selected.get(i), onSource.get(i), onSummary.get(i), o.variant, ignore));
        List<PairScore> covered = new ArrayList<>();
        if (!coverage.isEmpty()) {
            List<int[]> ct = new ArrayList<>();
            for (Coverage.Target c : coverage) ct.add(c.tokens);
            List<double[]> coverageOnSource = engine.teacherForced(srcOut, ct, o.rescoreRows);
            for (int i = 0; i < coverage.size(); i++) {
                Coverage.Target c = coverage.get(i);
                covered.add(new PairScore(c.question, c.answer, c.tokens, c.sepIndex, coverageOnSource.get(i),
                        coverageOnSummary.get(i), ignore));
            }
        }
        Result r = new Result(PairScore.quals(scored, o.variant), Result.OK, null, o.variant, hyps, spanIdx, selIdx, srcEnc,
                summEnc, scored);
        r.coverage = covered;
        r.coverageTargets = coverage;
        if (calibration != null) judge(r, source, summary, selected, coverage);
        return r;
    }

    /**
     * The verdict mode's fields of a scored record: the selected pairs and the coverage pairs judged together
     * (docs/hosts.md "Verdicts", steps 9-10).
     */
    private void judge(Result r, String source, String summary, List<QaPair> selected, List<Coverage.Target> coverage) {
        Verdict.SourceText text = Verdict.SourceText.of(source, codec.roundtrip(source));
        List<PairScore> all = new ArrayList<>(r.pairs);
        all.addAll(r.coverage);
        List<Verdict.Evidence> evidence = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            PairScore s = all.get(i);
            int sep;
            String answer;
            if (i < selected.size()) {
                QaPair p = selected.get(i);
                sep = p.sepIndex;
                answer = codec.decode(java.util.Arrays.copyOfRange(p.tokens, p.sepIndex + 1, p.answerEnd()));
            } else {
                Coverage.Target c = coverage.get(i - selected.size());
                sep = c.sepIndex;
                answer = c.answer;
            }
            int[] q = new int[sep];
            for (int k = 0; k < sep; k++) q[k] = k;
            evidence.add(new Verdict.Evidence(s.logpSource, s.logpSummary, s.searchScores, q, s.answerIndex,
                    io.quals.verdict.PyRe.lower(answer), text));
        }
        Verdict.Judgement j = calibration.judge(evidence);
        r.evidence = evidence;
        r.verdict = j.verdict;
        r.pConsistent = j.pConsistent;
        List<Result.Unsupported> unsupported = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            PairScore s = all.get(i);
            s.pSupported = j.pSupported[i];
            s.verdict = j.pairVerdicts[i];
            if (!s.verdict.equals("unsupported")) continue;
            if (i < selected.size()) { // the pair as people read it, its answer's span in the summary
                String[] qa = Readable.pairText(s.question, s.answer, summary);
                unsupported.add(new Result.Unsupported(qa[0], qa[1], answerSpan(qa[1], summary)));
            } else {
                Coverage.Target c = coverage.get(i - selected.size());
                unsupported.add(new Result.Unsupported(s.question, s.answer, new int[] {c.fact.start, c.fact.end}));
            }
        }
        r.unsupported = unsupported;
    }

    /** Where {@code summary} states {@code answer} (its first occurrence, ignoring case), in code points; or null. */
    static int[] answerSpan(String answer, String summary) {
        if (answer.isEmpty()) return null;
        String lowS = io.quals.verdict.PyRe.lower(summary), lowA = io.quals.verdict.PyRe.lower(answer);
        int n = io.quals.verdict.PyRe.len(answer);
        if (io.quals.verdict.PyRe.len(lowS) == io.quals.verdict.PyRe.len(summary) && io.quals.verdict.PyRe.len(lowA) == n) {
            int i = lowS.indexOf(lowA);
            if (i < 0) return null;
            int start = lowS.codePointCount(0, i);
            return new int[] {start, start + n};
        }
        int i = summary.indexOf(answer);
        if (i < 0) return null;
        int start = summary.codePointCount(0, i);
        return new int[] {start, start + n};
    }

    private List<Hypothesis> search(Engine.EncoderOutput enc, SearchOptions s) {
        DecoderState state = engine.start(enc, s.numBeams);
        if (s.search.equals("hf")) return HfSearch.run(state, s, manifest.decoderStart, manifest.eos, manifest.pad);
        return FairseqSearch.run(state, s, manifest.decoderStart, manifest.eos, manifest.pad);
    }

    /** Hypotheses of the search on a text (stripped, encoded as the manifest says). */
    public List<Hypothesis> generate(String text, QualsOptions o) {
        text = Strings.strip(text);
        if (text.isEmpty()) throw new InputException("text is empty");
        return search(engine.encode(codec.encode(text, o.sourceLimit(manifest)).ids), o.search);
    }

    /** Encoder input ids of a text as score() builds them (null when the text is empty after stripping). */
    public TextCodec.Encoded encodeForModel(String text, QualsOptions o) {
        text = Strings.strip(text);
        return text.isEmpty() ? null : codec.encode(text, o.sourceLimit(manifest));
    }

    /** This host's version (the pom's), the signature's version part. */
    public static final String VERSION = "0.1.0";

    /**
     * Every knob that changes the number, as the Python signature (runtime/quals/signature.py), then this host:
     * {@code quals|bundle:…|search:…|…|src:N[|cal:ID]|ep:cpu|ort:…|version:…|host:java}. The {@code cal:} part
     * names the calibration the verdicts come from, written only when they are computed.
     */
    public String signature(QualsOptions o) {
        SearchOptions s = o.search;
        List<String> parts = new ArrayList<>(List.of("quals", "bundle:" + bundle.digest().substring(0, 12),
                "search:" + s.search, "beams:" + s.numBeams, "groups:" + s.numGroups, "div:" + g(s.diversity),
                "len:" + s.minLength + "-" + s.maxLength, "lp:" + g(s.lengthPenalty)));
        if (s.search.equals("hf")) {
            parts.add("ret:" + s.returned());
            parts.add("es:" + s.earlyStopping.toLowerCase(java.util.Locale.ROOT));
        }
        parts.add("variant:" + o.variant);
        parts.add("pairs:" + o.maxPairs);
        parts.add("src:" + o.sourceLimit(manifest));
        if (calibration != null) parts.add("cal:" + calibration.id.substring(0, 12));
        parts.add("ep:cpu");
        parts.add("ort:" + backend.version());
        parts.add("version:" + VERSION);
        parts.add("host:java");
        return String.join("|", parts);
    }

    /** Python's format(x, "g"): 6 significant digits, no trailing zeros, an exponent below 1e-4 and from 1e6. */
    static String g(double x) {
        if (x == 0) return "0";
        if (!Double.isFinite(x)) return Double.isNaN(x) ? "nan" : x > 0 ? "inf" : "-inf";
        java.math.BigDecimal b = new java.math.BigDecimal(x).round(new java.math.MathContext(6)).stripTrailingZeros();
        int exp = b.precision() - b.scale() - 1;
        if (exp >= -4 && exp < 6) return b.toPlainString();
        String m = b.movePointLeft(exp).stripTrailingZeros().toPlainString();
        return m + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    @Override
    public void close() {
        engine.close();
        if (ownsBackend) backend.close();
    }
}
