package io.quals.ort;

/** An error reported by ONNX Runtime or by the native glue (the message carries ORT's own text). */
public class OrtException extends RuntimeException {
    public OrtException(String message) {
        super(message);
    }
}
