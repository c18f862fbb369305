package io.quals.cli;

import io.quals.json.Json;
import io.quals.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Development aid: tokenizes a JSON list of strings with a tokenizer.json and prints, per string, the ids
 * and the decoding of those ids, as JSON; a list of ids instead of a string is only decoded (to diff against the Python tokenizers library).
 * Usage: TokenizeTool TOKENIZER_JSON TEXTS_JSON
 */
public final class TokenizeTool {
    public static void main(String[] args) throws Exception {
        Tokenizer tok = Tokenizer.load(Path.of(args[0]));
        List<Object> texts = Json.arr(Json.parse(Files.readString(Path.of(args[1]), StandardCharsets.UTF_8)));
        List<Object> out = new ArrayList<>();
        for (Object t : texts) {
            int[] ids = t instanceof String ? tok.encode((String) t) : Json.ints(t); // a list: decode only
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("ids", ids);
            r.put("decoded", tok.decode(ids));
            out.add(r);
        }
        System.out.println(Json.write(out));
    }
}
