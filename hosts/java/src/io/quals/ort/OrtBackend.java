package io.quals.ort;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The only door to ONNX Runtime. Everything else in quals talks to this interface, so the JNI glue
 * ({@link JniOrtBackend}) can be swapped for an implementation over the official {@code ai.onnxruntime}
 * jar (see README.md, "Using the official ONNX Runtime jar").
 */
public interface OrtBackend extends AutoCloseable {
    /** Opens a model with all graph optimisations; threads > 0 sets intra-op threads (and one inter-op thread). */
    Session createSession(Path model, int threads);

    /** The ONNX Runtime version in use. */
    String version();

    @Override
    void close();

    interface Session extends AutoCloseable {
        List<String> inputNames();

        List<String> outputNames();

        /**
         * Runs the model on the given inputs and returns the requested outputs, in the order of outputNames.
         * Input tensors are only read, and only during the call.
         */
        Tensor[] run(Map<String, Tensor> inputs, List<String> outputNames);

        @Override
        void close();
    }
}
