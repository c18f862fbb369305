package io.quals.ort;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds libonnxruntime: an explicit path, else $QUALS_ONNXRUNTIME_LIB, else an installed onnxruntime Python
 * wheel (which ships the C API library) in the usual places.
 */
public final class OrtLibrary {
    public static final String ENV = "QUALS_ONNXRUNTIME_LIB";

    private OrtLibrary() {}

    /** @param explicit a path given by the caller (may be null); @param near directories to search upward from */
    public static Path locate(Path explicit, Path... near) {
        if (explicit != null) {
            if (!Files.isRegularFile(explicit)) throw new OrtException("ONNX Runtime library not found: " + explicit);
            return explicit;
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isEmpty()) {
            Path p = Path.of(env);
            if (!Files.isRegularFile(p)) throw new OrtException(ENV + " points to a missing file: " + env);
            return p;
        }
        List<String> looked = new ArrayList<>();
        List<Path> roots = new ArrayList<>();
        roots.add(Path.of("").toAbsolutePath());
        for (Path n : near) if (n != null) roots.add(n.toAbsolutePath());
        // a virtual environment in the working directory or above the bundle (the repository root)
        for (Path root : roots) {
            for (Path dir = root; dir != null; dir = dir.getParent()) {
                Path found = inVenvs(dir, looked);
                if (found != null) return found;
            }
        }
        String home = System.getProperty("user.home");
        for (String base : new String[] {home + "/.local/lib", "/usr/local/lib", "/usr/lib"}) {
            Path found = inPythonDirs(Path.of(base), looked);
            if (found != null) return found;
        }
        Path found = capi(Path.of("/usr/lib/python3/dist-packages"), looked);
        if (found != null) return found;
        throw new OrtException("cannot find the ONNX Runtime library (libonnxruntime.so*). Pass its path, set " + ENV
                + ", or `pip install onnxruntime` in a .venv. Looked in: " + String.join(", ", looked));
    }

    /** Prints the library a load would use (exit 0), or why none was found (exit 77: for run-tests.sh). */
    public static void main(String[] args) {
        try {
            System.out.println(locate(null, args.length > 0 ? Path.of(args[0]) : null));
        } catch (OrtException e) {
            System.err.println(e.getMessage());
            System.exit(77);
        }
    }

    private static Path inVenvs(Path dir, List<String> looked) {
        looked.add(dir + "/.venv*/lib/python3*/site-packages/onnxruntime/capi");
        List<Path> venvs = glob(dir, ".venv*");
        venvs.sort(null); // deterministic: .venv before .venv-rt
        for (Path venv : venvs) {
            Path found = inPythonDirs(venv.resolve("lib"), null);
            if (found != null) return found;
        }
        return null;
    }

    private static Path inPythonDirs(Path lib, List<String> looked) {
        if (looked != null) looked.add(lib + "/python3*/{site,dist}-packages/onnxruntime/capi");
        for (Path py : glob(lib, "python3*")) {
            for (String sub : new String[] {"site-packages", "dist-packages"}) {
                Path found = capi(py.resolve(sub), null);
                if (found != null) return found;
            }
        }
        return null;
    }

    private static Path capi(Path packages, List<String> looked) {
        Path dir = packages.resolve("onnxruntime/capi");
        if (looked != null) looked.add(dir.toString());
        List<Path> libs = glob(dir, "libonnxruntime.so*");
        libs.sort(null);
        return libs.isEmpty() ? null : libs.get(libs.size() - 1);
    }

    private static List<Path> glob(Path dir, String pattern) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, pattern)) {
            for (Path p : ds) out.add(p);
        } catch (IOException e) {
            // unreadable directory: nothing found there
        }
        return out;
    }
}
