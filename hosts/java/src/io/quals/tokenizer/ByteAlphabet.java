package io.quals.tokenizer;

import java.io.ByteArrayOutputStream;

/** GPT-2's bytes_to_unicode: each byte maps to one printable character (and back). */
final class ByteAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[324];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_TO_CHAR[b] = (char) (printable ? b : 256 + n++);
            CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
        }
    }

    private ByteAlphabet() {}

    static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        return new String(out);
    }

    /** Appends the bytes of token to out; false (nothing appended) if a character is not in the alphabet. */
    static boolean decode(String token, ByteArrayOutputStream out) {
        byte[] buf = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c >= CHAR_TO_BYTE.length || CHAR_TO_BYTE[c] < 0) return false;
            buf[i] = (byte) CHAR_TO_BYTE[c];
        }
        out.write(buf, 0, buf.length);
        return true;
    }
}
