package io.quals;

import io.quals.QualsException.BundleException;
import io.quals.json.Json;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** A bundle directory: quals.json plus the files it lists, each checked against its sha256. */
public final class Bundle {
    public final Path path;
    public final Manifest manifest;

    private Bundle(Path path, Manifest manifest) {
        this.path = path;
        this.manifest = manifest;
    }

    public Path file(String role) {
        return path.resolve(manifest.files.get(role));
    }

    /**
     * Reads and checks a bundle as runtime/quals/bundle.py::load_bundle does: every file the manifest lists must
     * exist and (when verify) match its sha256, so a partly copied or edited bundle is refused with a
     * message naming the file.
     */
    public static Bundle load(Path root, boolean verify) {
        if (!Files.exists(root)) throw new BundleException("model bundle not found: " + root);
        if (!Files.isDirectory(root)) throw new BundleException("model bundle must be a directory: " + root);
        Path mpath = root.resolve(Manifest.NAME);
        if (!Files.isRegularFile(mpath))
            throw new BundleException(mpath + ": missing manifest; is " + root + " a bundle made by `quals export`?");
        Object doc;
        try {
            doc = Json.parse(Files.readString(mpath, StandardCharsets.UTF_8));
        } catch (IOException | IllegalArgumentException e) {
            throw new BundleException(mpath + ": corrupt manifest (" + e.getMessage() + ")", e);
        }
        Manifest m = Manifest.fromJson(doc);
        boolean complete = m.files.containsKey("encoder") && m.files.containsKey("tokenizer")
                && (m.files.containsKey("decoder_merged")
                        || (m.files.containsKey("decoder") && m.files.containsKey("decoder_with_past")));
        if (!complete)
            throw new BundleException(mpath + ": the manifest lists no complete set of model files (has "
                    + new java.util.TreeSet<>(m.files.keySet()) + ")");
        for (var e : m.files.entrySet())
            if (!m.sha256.containsKey(e.getValue()))
                throw new BundleException(mpath + ": no sha256 recorded for " + e.getValue() + " (" + e.getKey() + ")");
        for (var e : m.sha256.entrySet()) {
            Path f = root.resolve(e.getKey());
            if (!Files.isRegularFile(f)) throw new BundleException(f + ": file missing from the bundle");
            if (verify && !sha256(f).equals(e.getValue()))
                throw new BundleException(f + ": sha256 mismatch, the file is corrupt or was modified");
        }
        return new Bundle(root, m);
    }

    /** The bundle's short id: the sha256 of its manifest (which holds every file's hash). */
    public String digest() {
        return sha256(path.resolve(Manifest.NAME));
    }

    static String sha256(Path f) {
        try (InputStream in = Files.newInputStream(f)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            StringBuilder b = new StringBuilder();
            for (byte x : md.digest()) b.append(String.format("%02x", x));
            return b.toString();
        } catch (IOException e) {
            throw new BundleException(f + ": cannot read (" + e.getMessage() + ")", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
