package io.quals.cli;

import io.quals.Scorer;
import io.quals.Result;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Scores N records (default 1000, cycling a few short pairs) in one process and checks that resident memory
 * (VmRSS) after record N is within a margin of VmRSS after record N/2: native resources (OrtValues, statuses,
 * names, pinned arrays) must be released on every call. The baseline is taken half-way, not early: the JIT's
 * code cache and compiler arenas keep growing for several hundred records (a 20.7 MB rise between records
 * 100 and 1000 was seen once on a loaded machine), while a leak grows with every record.
 * Usage: MemoryCheck BUNDLE [N] [MARGIN_MB]; exit 1 when the growth exceeds the margin.
 */
public final class MemoryCheck {
    private static final String[][] PAIRS = {
        {"The city council voted 7 to 2 on Tuesday to build a new bridge over the river. It will cost 48 million dollars.",
         "The council voted to build a bridge."},
        {"Zoë Müller from São Paulo won the prize at the café on 3 March.", "Zoë Müller won a prize in São Paulo."},
        {"Brandt Engineering, a firm based in Hamburg, will lead construction.", "A Hamburg firm leads the work."},
        {"Opponents argued that the money should go to schools instead.", "Some wanted the money for schools."},
    };

    public static void main(String[] args) throws Exception {
        Path bundle = Path.of(args.length > 0 ? args[0] : "build/test-bundles/v7/bundle-bart");
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 1000;
        double margin = args.length > 2 ? Double.parseDouble(args[2]) : 20.0;
        long rssBase = 0;
        int base = Math.max(1, n / 2);
        int ok = 0;
        try (Scorer q = Scorer.load(bundle, (Path) null, 1)) {
            for (int i = 1; i <= n; i++) {
                String[] p = PAIRS[i % PAIRS.length];
                Result r = q.score(p[0], p[1]);
                if (!r.status.equals(Result.ERROR)) ok++;
                else throw new IllegalStateException("record " + i + " failed: " + r.error);
                if (i == base) rssBase = rssKb();
            }
            long rssN = rssKb();
            double growMb = (rssN - rssBase) / 1024.0;
            System.out.printf("{\"memory_check\": \"%s\", \"records\": %d, \"rss_after_%d_mb\": %.1f, \"rss_after_%d_mb\": %.1f, "
                    + "\"growth_mb\": %.1f, \"margin_mb\": %.1f, \"pass\": %b}%n", bundle, ok, base, rssBase / 1024.0, n,
                    rssN / 1024.0,
                    growMb, margin, growMb <= margin);
            if (growMb > margin) System.exit(1);
        }
    }

    static long rssKb() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status")))
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }
}
