package io.quals.ort;

// NOT COMPILED BY build.sh: it needs the official ONNX Runtime jar (com.microsoft.onnxruntime:onnxruntime),
// which this repository cannot fetch. To use it, put the jar on the class path, compile this file with the
// sources in ../../../../src, and pass an instance to Scorer.load(bundle, backend, threads). See README.md.

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/** {@link OrtBackend} over the official ai.onnxruntime Java API (same session settings as the JNI glue). */
public final class OfficialOrtBackend implements OrtBackend {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();

    @Override
    public Session createSession(Path model, int threads) {
        try (OrtSession.SessionOptions o = new OrtSession.SessionOptions()) {
            o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            o.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR);
            o.setCPUArenaAllocator(false);
            // as the JNI glue: pool threads wait between calls instead of spinning (docs/performance.md)
            o.addConfigEntry("session.intra_op.allow_spinning", "0");
            if (threads > 0) {
                o.setIntraOpNumThreads(threads);
                o.setInterOpNumThreads(1);
            }
            return new OfficialSession(env.createSession(model.toString(), o));
        } catch (OrtException e) {
            throw new io.quals.ort.OrtException("CreateSession: " + e.getMessage());
        }
    }

    @Override
    public String version() {
        return env.getVersion();
    }

    @Override
    public void close() {
        // the environment is a process-wide singleton in the official API
    }

    private final class OfficialSession implements Session {
        private final OrtSession s;

        OfficialSession(OrtSession s) {
            this.s = s;
        }

        @Override
        public List<String> inputNames() {
            return new ArrayList<>(s.getInputNames());
        }

        @Override
        public List<String> outputNames() {
            return new ArrayList<>(s.getOutputNames());
        }

        @Override
        public Tensor[] run(Map<String, Tensor> inputs, List<String> outputNames) {
            Map<String, OnnxTensor> feeds = new LinkedHashMap<>();
            try {
                for (Map.Entry<String, Tensor> e : inputs.entrySet()) feeds.put(e.getKey(), toOnnx(e.getValue()));
                try (OrtSession.Result r = s.run(feeds, new LinkedHashSet<>(outputNames))) {
                    Tensor[] out = new Tensor[outputNames.size()];
                    for (int i = 0; i < out.length; i++) {
                        OnnxValue v = r.get(outputNames.get(i)).orElseThrow();
                        OnnxTensor t = (OnnxTensor) v;
                        long[] shape = t.getInfo().getShape();
                        FloatBuffer fb = t.getFloatBuffer(); // quals reads float outputs only
                        float[] data = new float[fb.remaining()];
                        fb.get(data);
                        out[i] = Tensor.of(data, shape);
                    }
                    return out;
                }
            } catch (OrtException e) {
                throw new io.quals.ort.OrtException("Run: " + e.getMessage());
            } finally {
                for (OnnxTensor t : feeds.values()) t.close();
            }
        }

        private OnnxTensor toOnnx(Tensor t) throws OrtException {
            if (t.data instanceof float[]) return OnnxTensor.createTensor(env, FloatBuffer.wrap((float[]) t.data), t.shape);
            if (t.data instanceof long[]) return OnnxTensor.createTensor(env, LongBuffer.wrap((long[]) t.data), t.shape);
            boolean[] b = (boolean[]) t.data;
            ByteBuffer bytes = ByteBuffer.allocateDirect(b.length);
            for (boolean x : b) bytes.put((byte) (x ? 1 : 0));
            bytes.rewind();
            return OnnxTensor.createTensor(env, bytes, t.shape, OnnxJavaType.BOOL);
        }

        @Override
        public void close() {
            try {
                s.close();
            } catch (OrtException e) {
                throw new io.quals.ort.OrtException("ReleaseSession: " + e.getMessage());
            }
        }
    }
}
