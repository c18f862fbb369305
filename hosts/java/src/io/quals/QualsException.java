package io.quals;

/** Base class of every error quals raises on purpose (as the Python runtime's QualsError). */
public class QualsException extends RuntimeException {
    public QualsException(String message) {
        super(message);
    }

    public QualsException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A model bundle is missing, incomplete, tampered with or of an unsupported version. */
    public static class BundleException extends QualsException {
        public BundleException(String message) {
            super(message);
        }

        public BundleException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** A record or an argument cannot be scored as given. */
    public static class InputException extends QualsException {
        public InputException(String message) {
            super(message);
        }
    }

    /** Search or scoring options that contradict each other or the bundle. */
    public static class OptionsException extends QualsException {
        public OptionsException(String message) {
            super(message);
        }
    }
}
