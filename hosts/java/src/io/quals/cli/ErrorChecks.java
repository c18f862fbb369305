package io.quals.cli;

import io.quals.Scorer;
import io.quals.QualsException;
import io.quals.Result;
import io.quals.json.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The refusals a host owes its users, checked on copies of a small bundle: a tampered, missing or
 * unsupported-version file and an unsupported tokenizer component raise an exception naming the problem;
 * empty inputs give status "error" without one. Usage: ErrorChecks BUNDLE (a merged-decoder test bundle).
 */
public final class ErrorChecks {
    private static int failures;

    public static void main(String[] args) throws Exception {
        Path bundle = Path.of(args.length > 0 ? args[0] : "build/test-bundles/v7/bundle-bart");
        Path tmp = Files.createTempDirectory("quals-java-errors");
        try {
            expectLoadError("tampered file", copy(bundle, tmp, "tampered", d -> append(d.resolve("tokenizer.json"), " ")),
                    "tokenizer.json: sha256 mismatch");
            expectLoadError("missing file", copy(bundle, tmp, "missing", d -> delete(d.resolve("encoder_model.onnx"))),
                    "encoder_model.onnx: file missing");
            expectLoadError("format_version", copy(bundle, tmp, "version", d -> editManifest(d, m -> m.put("format_version", 2L))),
                    "format_version 2 is not supported");
            expectLoadError("unsupported normalizer", copy(bundle, tmp, "normalizer", d -> {
                editTokenizer(d, t -> t.put("normalizer", Map.of("type", "Replace", "pattern", Map.of("String", "a"), "content", "b")));
            }), "unsupported tokenizer normalizer 'Replace'");
            expectLoadError("unsupported model", copy(bundle, tmp, "model", d -> {
                editTokenizer(d, t -> Json.obj(t.get("model")).put("type", "WordLevel"));
            }), "unsupported tokenizer model 'WordLevel'");
            expectLoadError("no bundle", tmp.resolve("nonexistent"), "model bundle not found");
            try (Scorer q = Scorer.load(bundle, (Path) null, 1)) {
                expectStatus(q.score("A source text.", "  \n\t"), "summary is empty");
                expectStatus(q.score(" ", "A summary."), "source is empty");
                expectStatus(q.score(null, "A summary."), "source and summary must be strings");
            }
        } finally {
            try (Stream<Path> s = Files.walk(tmp)) {
                s.sorted(Comparator.reverseOrder()).forEach(ErrorChecks::delete);
            }
        }
        System.out.println("{\"error_checks\": \"" + bundle + "\", \"failures\": " + failures + "}");
        System.exit(failures == 0 ? 0 : 1);
    }

    private static void expectLoadError(String what, Path dir, String fragment) {
        try {
            Scorer.load(dir, (Path) null, 1).close();
            fail(what + ": loaded without error");
        } catch (QualsException e) {
            if (!e.getMessage().contains(fragment)) fail(what + ": message '" + e.getMessage() + "' lacks '" + fragment + "'");
        }
    }

    private static void expectStatus(Result r, String error) {
        if (!r.status.equals(Result.ERROR) || r.quals != null || !error.equals(r.error))
            fail("expected status error '" + error + "', got " + r.status + " '" + r.error + "'");
    }

    private static void fail(String message) {
        failures++;
        System.err.println("FAIL " + message);
    }

    private static Path copy(Path src, Path tmp, String name, Consumer<Path> edit) throws Exception {
        Path dst = tmp.resolve(name);
        Files.createDirectories(dst);
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, dst.resolve(f.getFileName()));
        }
        edit.accept(dst);
        return dst;
    }

    private static void append(Path f, String s) {
        try {
            Files.writeString(f, Files.readString(f, StandardCharsets.UTF_8) + s, StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static void delete(Path f) {
        try {
            Files.deleteIfExists(f);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    private static void editManifest(Path dir, Consumer<Map<String, Object>> edit) {
        try {
            Path m = dir.resolve("quals.json");
            Map<String, Object> doc = Json.obj(Json.parse(Files.readString(m, StandardCharsets.UTF_8)));
            edit.accept(doc);
            Files.writeString(m, Json.write(doc), StandardCharsets.UTF_8);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    /** Edits tokenizer.json and records its new sha256, so that only the tokenizer check can object. */
    private static void editTokenizer(Path dir, Consumer<Map<String, Object>> edit) {
        try {
            Path t = dir.resolve("tokenizer.json");
            Map<String, Object> doc = Json.obj(Json.parse(Files.readString(t, StandardCharsets.UTF_8)));
            edit.accept(doc);
            byte[] bytes = Json.write(doc).getBytes(StandardCharsets.UTF_8);
            Files.write(t, bytes);
            StringBuilder hex = new StringBuilder();
            for (byte b : MessageDigest.getInstance("SHA-256").digest(bytes)) hex.append(String.format("%02x", b));
            editManifest(dir, m -> Json.obj(m.get("sha256")).put("tokenizer.json", hex.toString()));
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
