package io.quals.cli;

import io.quals.QualsOptions;
import io.quals.PairScore;
import io.quals.Scorer;
import io.quals.Result;
import io.quals.TextCodec;
import io.quals.json.Json;
import io.quals.verdict.Coverage;
import io.quals.verdict.Facts;
import io.quals.verdict.PyRe;
import io.quals.verdict.Verdict;
import io.quals.search.Hypothesis;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Replays conformance vectors (runtime/quals/tasks/conformance.py) through this host and reports every difference.
 *
 * <p>Usage: Conformance [--root DIR] [--bundle NAME=PATH]... [--ort LIB] VECTORS_JSON...
 * Tokenizer and decoding vectors must match exactly; for each case and run: encoder ids, hypothesis tokens,
 * span-valid and selected indices, pair strings and tokens exactly; log-probs and scores within the file's
 * tolerance. One JSON summary line per file; exit status 1 on any failure.
 */
public final class Conformance {
    private final List<String> diffs = new ArrayList<>();
    private double tolLogprob, tolQuals, maxLogprob, maxQuals, maxVerdict;
    private int checked, verdictChecks, comparisons; // comparisons: every value compared (verdictChecks: of the verdict mode)

    public static void main(String[] args) throws Exception {
        Path root = Path.of("");
        Path ort = null;
        Map<String, String> bundles = new HashMap<>();
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--root": root = Path.of(args[++i]); break;
                case "--ort": ort = Path.of(args[++i]); break;
                case "--bundle": {
                    String[] kv = args[++i].split("=", 2);
                    bundles.put(kv[0], kv[1]);
                    break;
                }
                default: files.add(Path.of(args[i]));
            }
        }
        if (files.isEmpty()) {
            System.err.println("usage: Conformance [--root DIR] [--bundle NAME=PATH]... [--ort LIB] VECTORS_JSON...");
            System.exit(2);
        }
        boolean ok = true;
        for (Path f : files) ok &= new Conformance().check(f, root, bundles, ort);
        System.exit(ok ? 0 : 1);
    }

    boolean check(Path file, Path root, Map<String, String> overrides, Path ort) throws Exception {
        long t0 = System.nanoTime();
        Map<String, Object> doc = Json.obj(Json.parse(Files.readString(file, StandardCharsets.UTF_8)));
        if (!"quals-conformance".equals(doc.get("format")) || !Long.valueOf(1).equals(doc.get("format_version")))
            throw new IllegalArgumentException(file + ": not a quals-conformance format_version 1 file");
        Map<String, Object> b = Json.obj(doc.get("bundle"));
        String name = (String) b.get("name");
        Path bundle = overrides.containsKey(name) ? Path.of(overrides.get(name)) : root.resolve((String) b.get("path"));
        Map<String, Object> tol = Json.obj(doc.get("tolerance"));
        tolLogprob = ((Number) tol.get("logprob")).doubleValue();
        tolQuals = ((Number) tol.get("quals")).doubleValue();
        try (Scorer q = Scorer.load(bundle, ort, 1)) {
            String digest = q.bundle.digest();
            if (!digest.equals(b.get("digest")))
                diff("$.bundle.digest", digest, b.get("digest")); // vectors made from another bundle
            // the calibration the vectors were made with (null: none, and no verdicts) is the one this host loaded
            Object cal = doc.get("calibration");
            exact("$.calibration.id", q.calibration == null ? null : q.calibration.id,
                    cal == null ? null : Json.obj(cal).get("id"));
            List<Object> tokenization = Json.arr(doc.get("tokenization"));
            for (int i = 0; i < tokenization.size(); i++) {
                Map<String, Object> v = Json.obj(tokenization.get(i));
                exact("$.tokenization[" + i + "] " + Json.write(v.get("text")), q.codec.textIds((String) v.get("text")),
                        Json.ints(v.get("ids")));
            }
            List<Object> decoding = Json.arr(doc.get("decoding"));
            for (int i = 0; i < decoding.size(); i++) {
                Map<String, Object> v = Json.obj(decoding.get(i));
                exact("$.decoding[" + i + "]", q.codec.decode(Json.ints(v.get("ids"))), v.get("text"));
            }
            List<Object> cases = Json.arr(doc.get("cases"));
            for (int c = 0; c < cases.size(); c++) checkCase(q, Json.obj(cases.get(c)), "$.cases[" + c + "]");
        }
        Map<String, Object> summary = new LinkedHashMap<>();
        summary.put("file", file.toString());
        summary.put("bundle", bundle.toString());
        summary.put("vectors_checked", checked);
        summary.put("failures", diffs.size());
        summary.put("max_abs_diff_logprob", maxLogprob);
        summary.put("max_abs_diff_quals", maxQuals);
        summary.put("verdict_checks", verdictChecks);
        summary.put("max_abs_diff_verdict", maxVerdict);
        summary.put("seconds", Math.round((System.nanoTime() - t0) / 1e7) / 100.0);
        System.out.println(Json.write(summary));
        if (!diffs.isEmpty()) {
            System.err.println("first differences in " + file + " (host value != expected):");
            for (String d : diffs.subList(0, Math.min(25, diffs.size()))) System.err.println("  " + d);
        }
        return diffs.isEmpty();
    }

    private void checkCase(Scorer q, Map<String, Object> c, String path) {
        String source = (String) c.get("source"), summary = (String) c.get("summary");
        path += "(" + c.get("name") + ")";
        Map<String, Object> encoded = Json.obj(c.get("encoded"));
        QualsOptions dflt = q.options();
        encodedEquals(path + ".encoded.source", q.encodeForModel(source, dflt), encoded.get("source"));
        encodedEquals(path + ".encoded.summary", q.encodeForModel(summary, dflt), encoded.get("summary"));
        List<Object> runs = Json.arr(c.get("runs"));
        for (int r = 0; r < runs.size(); r++) {
            Map<String, Object> run = Json.obj(runs.get(r));
            String rp = path + ".runs[" + r + "]";
            QualsOptions o = q.options(Json.obj(run.get("options")));
            Result res = q.score(source, summary, o);
            checked++;
            checkRun(res, run, rp);
            if (run.get("verdicts") != null) {
                int before = comparisons;
                checkVerdicts(q, res, PyRe.strip(summary), Json.obj(run.get("verdicts")), rp + ".verdicts");
                verdictChecks += comparisons - before;
            }
        }
    }

    /** The verdict mode's steps of one run (Python: quals.tasks.conformance._verdicts). */
    private void checkVerdicts(Scorer q, Result r, String summary, Map<String, Object> v, String p) {
        Verdict.Calibration cal = q.calibration;
        if (cal == null) {
            diff(p, "no calibration loaded", "a verdicts block");
            return;
        }
        List<Facts.Fact> facts = summary.isEmpty() ? List.of() : Facts.findFacts(summary, cal.commonWords);
        List<Object> ef = Json.arr(v.get("facts"));
        exact(p + ".facts.length", facts.size(), ef.size());
        for (int i = 0; i < Math.min(facts.size(), ef.size()); i++) {
            Map<String, Object> e = Json.obj(ef.get(i));
            Facts.Fact f = facts.get(i);
            String fp = p + ".facts[" + i + "]";
            exact(fp + ".start", f.start, num(e.get("start")));
            exact(fp + ".end", f.end, num(e.get("end")));
            exact(fp + ".kind", f.kind, e.get("kind"));
            exact(fp + ".text", f.text, e.get("text"));
        }
        List<Object> ec = Json.arr(v.get("coverage"));
        exact(p + ".coverage.length", r.coverageTargets.size(), ec.size());
        for (int i = 0; i < Math.min(Math.min(r.coverageTargets.size(), r.coverage.size()), ec.size()); i++) {
            Map<String, Object> e = Json.obj(ec.get(i));
            Coverage.Target t = r.coverageTargets.get(i);
            PairScore s = r.coverage.get(i);
            String cp = p + ".coverage[" + i + "]";
            exact(cp + ".question", t.question, e.get("question"));
            exact(cp + ".answer", t.answer, e.get("answer"));
            exact(cp + ".fact", new int[] {t.fact.start, t.fact.end}, Json.ints(e.get("fact")));
            exact(cp + ".tokens", t.tokens, Json.ints(e.get("tokens")));
            exact(cp + ".sep_index", t.sepIndex, num(e.get("sep_index")));
            exact(cp + ".answer_index", s.answerIndex, Json.ints(e.get("answer_index")));
            close(cp + ".logp_source", s.logpSource, Json.doubles(e.get("logp_source")), false);
            close(cp + ".logp_summary", s.logpSummary, Json.doubles(e.get("logp_summary")), false);
        }
        List<PairScore> scored = new ArrayList<>(r.pairs);
        scored.addAll(r.coverage);
        List<Object> ep = Json.arr(v.get("pairs"));
        exact(p + ".pairs.length", scored.size(), ep.size());
        for (int i = 0; i < Math.min(Math.min(scored.size(), ep.size()), r.evidence.size()); i++) {
            Map<String, Object> e = Json.obj(ep.get(i));
            String pp = p + ".pairs[" + i + "]";
            Map<String, Object> ev = Json.obj(e.get("features"));
            double[] x = cal.featureValues(r.evidence.get(i));
            for (int k = 0; k < x.length; k++) {
                String f = cal.features.get(k);
                verdictClose(pp + ".features." + f, x[k], ev.get(f));
            }
            verdictClose(pp + ".logit", cal.pairLogit(r.evidence.get(i)), e.get("logit"));
            verdictClose(pp + ".p_supported", scored.get(i).pSupported(), e.get("p_supported"));
            exact(pp + ".verdict", scored.get(i).verdict(), e.get("verdict"));
        }
        exact(p + ".verdict", r.verdict, v.get("verdict"));
        verdictClose(p + ".p_consistent", r.pConsistent, v.get("p_consistent"));
        Object eu = v.get("unsupported");
        if (r.unsupported == null || eu == null) {
            exact(p + ".unsupported", r.unsupported == null ? null : "a list", eu == null ? null : "a list");
            return;
        }
        List<Object> us = Json.arr(eu);
        exact(p + ".unsupported.length", r.unsupported.size(), us.size());
        for (int i = 0; i < Math.min(r.unsupported.size(), us.size()); i++) {
            Map<String, Object> e = Json.obj(us.get(i));
            Result.Unsupported u = r.unsupported.get(i);
            String up = p + ".unsupported[" + i + "]";
            exact(up + ".question", u.question, e.get("question"));
            exact(up + ".answer", u.answer, e.get("answer"));
            exact(up + ".span", u.span, e.get("span") == null ? null : Json.ints(e.get("span")));
        }
    }

    /** A verdict-mode number: within the log-prob tolerance; null only where null is expected. */
    private void verdictClose(String path, Double got, Object want) {
        comparisons++;
        if (got == null || want == null) {
            if (got != null || want != null) diff(path, got, want);
            return;
        }
        double w = ((Number) want).doubleValue();
        double d = Math.abs(got - w);
        if (got.doubleValue() == w) d = 0;
        maxVerdict = Math.max(maxVerdict, d);
        if (!(d <= tolLogprob)) diff(path, got, want);
    }

    private void encodedEquals(String path, TextCodec.Encoded got, Object expected) {
        checked++;
        if (expected == null || got == null) {
            if (expected != got) diff(path, got == null ? null : Arrays.toString(got.ids), expected);
            return;
        }
        Map<String, Object> e = Json.obj(expected);
        exact(path + ".ids", got.ids, Json.ints(e.get("ids")));
        exact(path + ".n_text_tokens", got.nTextTokens, ((Number) e.get("n_text_tokens")).intValue());
        exact(path + ".truncated", got.truncated, e.get("truncated"));
    }

    private void checkRun(Result res, Map<String, Object> run, String path) {
        List<Object> hyps = Json.arr(run.get("hypotheses"));
        exact(path + ".hypotheses.length", res.hypotheses.size(), hyps.size());
        for (int i = 0; i < Math.min(hyps.size(), res.hypotheses.size()); i++) {
            Map<String, Object> e = Json.obj(hyps.get(i));
            Hypothesis h = res.hypotheses.get(i);
            String hp = path + ".hypotheses[" + i + "]";
            if (!exact(hp + ".tokens", h.tokens, Json.ints(e.get("tokens")))) continue;
            exact(hp + ".finished", h.finished, e.get("finished"));
            close(hp + ".token_scores", h.tokenScores, Json.doubles(e.get("token_scores")), false);
            close(hp + ".score", h.score, ((Number) e.get("score")).doubleValue(), false);
        }
        exact(path + ".span_valid", res.spanValid, Json.ints(run.get("span_valid")));
        exact(path + ".selected", res.selected, Json.ints(run.get("selected")));
        List<Object> pairs = Json.arr(run.get("pairs"));
        exact(path + ".pairs.length", res.pairs.size(), pairs.size());
        for (int i = 0; i < Math.min(pairs.size(), res.pairs.size()); i++) {
            Map<String, Object> e = Json.obj(pairs.get(i));
            PairScore p = res.pairs.get(i);
            String pp = path + ".pairs[" + i + "]";
            exact(pp + ".hypothesis", res.selected[i], ((Number) e.get("hypothesis")).intValue());
            exact(pp + ".question", p.question, e.get("question"));
            exact(pp + ".answer", p.answer, e.get("answer"));
            exact(pp + ".tokens", p.tokens, Json.ints(e.get("tokens")));
            exact(pp + ".sep_index", p.sepIndex, ((Number) e.get("sep_index")).intValue());
            exact(pp + ".answer_index", p.answerIndex, Json.ints(e.get("answer_index")));
            close(pp + ".logp_source", p.logpSource, Json.doubles(e.get("logp_source")), false);
            close(pp + ".logp_summary", p.logpSummary, Json.doubles(e.get("logp_summary")), false);
            close(pp + ".search_scores", p.searchScores, Json.doubles(e.get("search_scores")), false);
            close(pp + ".s_x", p.sX, ((Number) e.get("s_x")).doubleValue(), true);
            close(pp + ".s_y", p.sY, ((Number) e.get("s_y")).doubleValue(), true);
            Map<String, Object> values = Json.obj(e.get("values"));
            for (String v : PairScore.VARIANTS)
                close(pp + ".values." + v, p.valueFor(v), ((Number) values.get(v)).doubleValue(), true);
        }
        Map<String, Object> r = Json.obj(run.get("result"));
        String rp = path + ".result";
        exact(rp + ".status", res.status, r.get("status"));
        exact(rp + ".error", res.error, r.get("error"));
        exact(rp + ".n_pairs", res.nPairs, num(r.get("n_pairs")));
        exact(rp + ".n_hypotheses", res.nHypotheses, num(r.get("n_hypotheses")));
        exact(rp + ".n_span_valid", res.nSpanValid, num(r.get("n_span_valid")));
        exact(rp + ".source_tokens", res.sourceTokens, num(r.get("source_tokens")));
        exact(rp + ".source_truncated", res.sourceTruncated, r.get("source_truncated"));
        exact(rp + ".summary_tokens", res.summaryTokens, num(r.get("summary_tokens")));
        exact(rp + ".summary_truncated", res.summaryTruncated, r.get("summary_truncated"));
        Map<String, Object> qv = Json.obj(r.get("quals"));
        for (String v : PairScore.VARIANTS) {
            Double got = res.qualsFor(v);
            Object want = qv.get(v);
            if (got == null || want == null) {
                if (got != null || want != null) diff(rp + ".quals." + v, got, want);
            } else {
                close(rp + ".quals." + v, got, ((Number) want).doubleValue(), true);
            }
        }
    }

    private static Integer num(Object o) {
        return o == null ? null : ((Number) o).intValue();
    }

    private void diff(String path, Object got, Object want) {
        diffs.add(path + ": " + (got instanceof int[] ? Arrays.toString((int[]) got) : Json.write(got)) + " != "
                + (want instanceof int[] ? Arrays.toString((int[]) want) : Json.write(want)));
    }

    private boolean exact(String path, Object got, Object want) {
        comparisons++;
        boolean eq = got instanceof int[] && want instanceof int[] ? Arrays.equals((int[]) got, (int[]) want)
                : java.util.Objects.equals(got, want);
        if (!eq) diff(path, got, want);
        return eq;
    }

    private void close(String path, double[] got, double[] want, boolean quals) {
        if (got.length != want.length) {
            diff(path + ".length", got.length, want.length);
            return;
        }
        for (int i = 0; i < got.length; i++) close(path + "[" + i + "]", got[i], want[i], quals);
    }

    private void close(String path, double got, double want, boolean quals) {
        comparisons++;
        double d = Math.abs(got - want);
        if (got == want) d = 0; // equal infinities
        if (quals) maxQuals = Math.max(maxQuals, d);
        else maxLogprob = Math.max(maxLogprob, d);
        if (!(d <= (quals ? tolQuals : tolLogprob))) diff(path, got, want);
    }
}
