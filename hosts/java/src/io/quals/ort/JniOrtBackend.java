package io.quals.ort;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * {@link OrtBackend} over ONNX Runtime's C API through a small JNI library (native/quals_ort_jni.c), which
 * dlopen()s libonnxruntime and indexes the OrtApi table. The glue is found from the system property
 * {@code quals.jni.library} (a file path), else {@code libquals_ort_jni.so} on java.library.path.
 */
public final class JniOrtBackend implements OrtBackend {
    private static String loadedOrt; // libonnxruntime path the process bound to (one per process)
    private static String ortVersion;

    private long handle; // the native Backend (env + CPU memory info); 0 once closed
    private final List<JniSession> sessions = new ArrayList<>();

    private static native String nInit(String ortLibrary);

    private static native long nCreate();

    private static native void nClose(long handle);

    private static native long nCreateSession(long handle, String path, int threads);

    private static native void nReleaseSession(long session);

    private static native String[] nNames(long session, boolean outputs);

    private static native Object[] nRun(long handle, long session, String[] inNames, Object[] inputs, long[][] shapes,
                                        String[] outNames);

    /** Loads the glue and ONNX Runtime (located by {@link OrtLibrary#locate}) and creates an environment. */
    public JniOrtBackend(Path ortLibrary) {
        init(ortLibrary);
        handle = nCreate();
    }

    private static synchronized void init(Path ortLibrary) {
        String lib = ortLibrary.toAbsolutePath().toString();
        if (loadedOrt != null) {
            if (!loadedOrt.equals(lib))
                throw new OrtException("ONNX Runtime is already loaded from " + loadedOrt + "; one library per process");
            return;
        }
        String glue = System.getProperty("quals.jni.library");
        if (glue != null) {
            if (!Files.isRegularFile(Path.of(glue)))
                throw new OrtException("quals.jni.library points to a missing file: " + glue);
            System.load(Path.of(glue).toAbsolutePath().toString());
        } else {
            try {
                System.loadLibrary("quals_ort_jni");
            } catch (UnsatisfiedLinkError e) {
                throw new OrtException("cannot load the JNI glue libquals_ort_jni.so (" + e.getMessage()
                        + "); build it (hosts/java/run-tests.sh does) and pass -Djava.library.path=DIR or "
                        + "-Dquals.jni.library=FILE");
            }
        }
        ortVersion = nInit(lib);
        loadedOrt = lib;
    }

    @Override
    public String version() {
        return ortVersion;
    }

    @Override
    public synchronized Session createSession(Path model, int threads) {
        check();
        long s = nCreateSession(handle, model.toAbsolutePath().toString(), threads);
        JniSession session = new JniSession(s);
        sessions.add(session);
        return session;
    }

    @Override
    public synchronized void close() {
        if (handle == 0) return;
        for (JniSession s : new ArrayList<>(sessions)) s.close();
        nClose(handle);
        handle = 0;
    }

    private void check() {
        if (handle == 0) throw new IllegalStateException("the ONNX Runtime backend is closed");
    }

    private final class JniSession implements Session {
        private long session;
        private final List<String> inputs, outputs;

        JniSession(long session) {
            this.session = session;
            inputs = Collections.unmodifiableList(Arrays.asList(nNames(session, false)));
            outputs = Collections.unmodifiableList(Arrays.asList(nNames(session, true)));
        }

        @Override
        public List<String> inputNames() {
            return inputs;
        }

        @Override
        public List<String> outputNames() {
            return outputs;
        }

        @Override
        public Tensor[] run(Map<String, Tensor> feeds, List<String> outNames) {
            if (session == 0) throw new IllegalStateException("session is closed");
            String[] names = new String[feeds.size()];
            Object[] data = new Object[names.length];
            long[][] shapes = new long[names.length][];
            int i = 0;
            for (Map.Entry<String, Tensor> e : feeds.entrySet()) {
                names[i] = e.getKey();
                data[i] = e.getValue().data;
                shapes[i] = e.getValue().shape;
                i++;
            }
            Object[] raw = nRun(handle, session, names, data, shapes, outNames.toArray(new String[0]));
            Tensor[] out = new Tensor[outNames.size()];
            for (int k = 0; k < out.length; k++) out[k] = Tensor.wrap(raw[2 * k + 1], (long[]) raw[2 * k]);
            return out;
        }

        @Override
        public void close() {
            synchronized (JniOrtBackend.this) {
                if (session == 0) return;
                nReleaseSession(session);
                session = 0;
                sessions.remove(this);
            }
        }
    }
}
