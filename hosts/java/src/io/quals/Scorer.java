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
        List<double[]> onSource = engine.teacherForced(engine.encode(srcEnc.ids), targets, o.rescoreRows);
        List<PairScore> scored = new ArrayList<>();
        for (int i = 0; i < selected.size(); i++)
            scored.add(new PairScore(selected.get(i), onSource.get(i), onSummary.get(i), o.variant, ignore));
        return new Result(PairScore.quals(scored, o.variant), Result.OK, null, o.variant, hyps, spanIdx, selIdx, srcEnc,
                summEnc, scored);
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

    @Override
    public void close() {
        engine.close();
        if (ownsBackend) backend.close();
    }
}
