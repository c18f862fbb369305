package io.quals.cli;

import io.quals.QualsOptions;
import io.quals.Scorer;
import io.quals.QualsException;
import io.quals.Result;
import io.quals.json.Json;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores a JSONL file ({"source", "summary"} per line; "-" reads stdin) and prints one JSON result per line.
 *
 * <pre>
 * java -cp CLASSES -Djava.library.path=DIR io.quals.cli.Main score INPUT.jsonl --model models/default --threads 1
 *      [--search hf|fairseq] [--num-beams N] [--num-groups N] [--diversity X] [--min-length N] [--max-length N]
 *      [--length-penalty X] [--variant paper|clean|ans_lm] [--max-pairs N] [--max-source-tokens N]
 *      [--details] [--ort LIB] [--limit N]
 * </pre>
 * Timing (load time; per-summary wall-clock and scoring-thread CPU mean and median) goes to stderr. Exit codes: 0 ok, 1 bad bundle/options, 2 usage.
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !args[0].equals("score")) usage(null);
        Path input = null, model = Path.of("models/default"), ort = null;
        int threads = 0, limit = Integer.MAX_VALUE;
        boolean details = false;
        Map<String, Object> overrides = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || a.equals("-")) {
                if (input != null) usage("more than one input file");
                input = Path.of(a);
                continue;
            }
            if (a.equals("--details")) { details = true; continue; }
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--model": model = Path.of(v); break;
                case "--threads": threads = Integer.parseInt(v); break;
                case "--ort": ort = Path.of(v); break;
                case "--limit": limit = Integer.parseInt(v); break;
                default: {
                    String key = a.substring(2).replace('-', '_');
                    if (!QualsOptions.SEARCH_FIELDS.contains(key) && !QualsOptions.OPTION_FIELDS.contains(key)) usage("unknown option " + a);
                    overrides.put(key, v);
                }
            }
        }
        if (input == null) usage("no input file");
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        long t0 = System.nanoTime();
        Scorer q;
        QualsOptions o;
        try {
            q = Scorer.load(model, ort, threads);
            o = q.options(overrides);
        } catch (QualsException | io.quals.ort.OrtException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(1);
            return;
        }
        double loadS = (System.nanoTime() - t0) / 1e9;
        List<Double> times = new ArrayList<>(), cpu = new ArrayList<>();
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        try (BufferedReader in = input.toString().equals("-")
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null && times.size() < limit) {
                lineNo++;
                if (line.isBlank()) continue;
                Result r;
                long s = System.nanoTime(), c = mx.getCurrentThreadCpuTime();
                try {
                    Map<String, Object> rec = Json.obj(Json.parse(line));
                    Object src = rec.get("source"), summ = rec.get("summary");
                    r = q.score(src instanceof String ? (String) src : null, summ instanceof String ? (String) summ : null, o);
                } catch (IllegalArgumentException e) {
                    r = null;
                    Map<String, Object> err = new LinkedHashMap<>();
                    err.put("quals", null);
                    err.put("status", "error");
                    err.put("error", "line " + lineNo + ": " + e.getMessage());
                    out.println(Json.write(err));
                }
                times.add((System.nanoTime() - s) / 1e9);
                cpu.add((mx.getCurrentThreadCpuTime() - c) / 1e9); // ONNX Runtime with 1 thread runs on this one
                if (r != null) out.println(Json.write(r.toMap(details)));
                out.flush();
            }
        } finally {
            q.close();
        }
        System.err.printf("quals-java: %d records, load %.2f s, per summary wall mean %.3f s, median %.3f s; "
                + "scoring-thread CPU mean %.3f s, median %.3f s (threads=%d)%n", times.size(), loadS, mean(times),
                median(times), mean(cpu), median(cpu), threads);
    }

    static double mean(List<Double> xs) {
        return xs.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }

    static double median(List<Double> xs) {
        double[] t = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (t.length == 0) return 0;
        return t.length % 2 == 1 ? t[t.length / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
    }

    private static void usage(String why) {
        if (why != null) System.err.println("error: " + why);
        System.err.println("usage: Main score INPUT.jsonl|- [--model DIR] [--threads N] [--ort LIB] [--details] [--limit N]\n"
                + "       [--search hf|fairseq] [--num-beams N] [--num-groups N] [--diversity X] [--min-length N]\n"
                + "       [--max-length N] [--length-penalty X] [--variant V] [--max-pairs N] [--max-source-tokens N]");
        System.exit(2);
    }
}
