package io.quals.search;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * fairseq 0.9's SequenceGenerator + DiverseBeamSearch (Hamming diversity), as runtime/quals/search/fairseq.py.
 *
 * <p>Per step t = 0..max_length: pad is never chosen; at t == max_length only EOS is allowed, before
 * min_length EOS is forbidden. Groups in order; group g's scores get -diversity x count[v], count being how
 * many of the earlier groups' top-2m candidates had token v. The candidates are interleaved (rank r of
 * every group, then rank r+1...); among the first num_beams, each EOS with a finite score finalizes its
 * parent, and the next slots are the first num_beams candidates in that order that did not end.
 * All scores are float32; the result is sorted by normalised score, descending, stable.
 */
public final class FairseqSearch {
    private FairseqSearch() {}

    private static final class Fin {
        final float norm;
        final int order;
        final Hypothesis h;

        Fin(float norm, int order, Hypothesis h) {
            this.norm = norm;
            this.order = order;
            this.h = h;
        }
    }

    public static List<Hypothesis> run(StepFunction step, SearchOptions o, int decoderStart, int eos, int pad) {
        final int n = o.numBeams, groups = o.numGroups, m = n / groups;
        final float penalty = (float) -o.diversity;
        int[][] tokens = new int[n][0];
        float[][] cumul = new float[n][0];
        List<Fin> finalized = new ArrayList<>();
        int[] last = new int[n];
        Arrays.fill(last, decoderStart);
        int[] parents = null;
        for (int t = 0; t <= o.maxLength; t++) {
            float[][] logp = step.step(last, parents);
            int vocab = logp[0].length;
            for (float[] row : logp) {
                row[pad] = Float.NEGATIVE_INFINITY;
                if (t >= o.maxLength) {
                    float keep = row[eos];
                    Arrays.fill(row, Float.NEGATIVE_INFINITY);
                    row[eos] = keep;
                } else if (t < o.minLength) {
                    row[eos] = Float.NEGATIVE_INFINITY;
                }
            }
            float[] count = new float[vocab];
            float[][] candScore = new float[2 * m][groups];
            int[][] candToken = new int[2 * m][groups], candParent = new int[2 * m][groups];
            for (int g = 0; g < groups; g++) {
                int nRows = t == 0 ? 1 : m; // at t = 0 every row of a group is the same prefix
                float[] flat = new float[nRows * vocab];
                for (int j = 0; j < nRows; j++) {
                    int row = g + j * groups;
                    float[] lp = logp[row];
                    float c = t > 0 ? cumul[row][cumul[row].length - 1] : 0f;
                    for (int v = 0; v < vocab; v++) {
                        float s = lp[v];
                        if (g > 0) s = s + penalty * count[v];
                        if (t > 0) s = s + c;
                        flat[j * vocab + v] = s;
                    }
                }
                int k = Math.min(2 * m, flat.length - 1);
                int[] top = TopK.topK(flat, k);
                for (int r = 0; r < top.length; r++) {
                    int tok = top[r] % vocab;
                    count[tok] += 1.0f;
                    candScore[r][g] = flat[top[r]];
                    candToken[r][g] = tok;
                    candParent[r][g] = (top[r] / vocab) * groups + g;
                }
            }
            // the interleaved candidate list: rank r of every group, then rank r + 1
            boolean[][] ended = new boolean[2 * m][groups];
            for (int r = 0; r < 2 * m; r++)
                for (int g = 0; g < groups; g++)
                    ended[r][g] = candToken[r][g] == eos && Float.isFinite(candScore[r][g]);
            for (int idx = 0; idx < n; idx++) {
                if (finalized.size() >= n) break;
                int r = idx / groups, g = idx % groups;
                if (!ended[r][g]) continue;
                float score = candScore[r][g];
                int p = candParent[r][g];
                float[] c = Arrays.copyOf(cumul[p], cumul[p].length + 1);
                c[c.length - 1] = score;
                int length = t + 1;
                float norm = score / (float) Math.pow((float) length, (float) o.lengthPenalty);
                int[] toks = Arrays.copyOf(tokens[p], tokens[p].length + 1);
                toks[toks.length - 1] = eos;
                finalized.add(new Fin(norm, finalized.size(), new Hypothesis(toks, Hypothesis.deltas(c), norm, true)));
            }
            if (finalized.size() >= n || t == o.maxLength) break;
            int[] newParents = new int[n], newLast = new int[n];
            float[] newScore = new float[n];
            int filled = 0;
            for (int idx = 0; idx < 2 * m * groups && filled < n; idx++) {
                int r = idx / groups, g = idx % groups;
                if (ended[r][g]) continue;
                newParents[filled] = candParent[r][g];
                newLast[filled] = candToken[r][g];
                newScore[filled] = candScore[r][g];
                filled++;
            }
            if (filled < n) throw new IllegalStateException("fairseq search: fewer live candidates than beams");
            int[][] nt = new int[n][];
            float[][] nc = new float[n][];
            for (int i = 0; i < n; i++) {
                int p = newParents[i];
                nt[i] = Arrays.copyOf(tokens[p], tokens[p].length + 1);
                nt[i][nt[i].length - 1] = newLast[i];
                nc[i] = Arrays.copyOf(cumul[p], cumul[p].length + 1);
                nc[i][nc[i].length - 1] = newScore[i];
            }
            tokens = nt;
            cumul = nc;
            parents = newParents;
            last = newLast;
        }
        finalized.sort((a, b) -> a.norm != b.norm ? Float.compare(b.norm, a.norm) : Integer.compare(a.order, b.order));
        List<Hypothesis> out = new ArrayList<>(finalized.size());
        for (Fin f : finalized) out.add(f.h);
        return out;
    }
}
