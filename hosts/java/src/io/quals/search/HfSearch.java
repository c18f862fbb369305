package io.quals.search;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * transformers 4.53-4.56 group beam search (_group_beam_search + BeamSearchScorer), as runtime/quals/search/hf.py:
 * the Hamming penalty counts tokens earlier groups selected at this step (pad of finished groups included);
 * each group keeps its own num_beams/num_groups finished hypotheses, merged and sorted only at the end;
 * max_length and min_length count the decoder start token, and max_length ends the search without EOS.
 * Rows of done groups only emit pad, so from the step after a group is done its rows are not computed
 * (docs/hosts.md: for an int8 bundle the rows of one call change each other's numbers, so this matters).
 */
public final class HfSearch {
    private HfSearch() {}

    /** transformers' BeamHypotheses: the n best finished sequences of one group (scores in float64). */
    private static final class GroupHyps {
        final int n;
        final SearchOptions o;
        final List<Object[]> beams = new ArrayList<>(); // {Double score, int[] tokens, double[] deltas, Boolean finished}
        double worst = 1e9;
        boolean done;

        GroupHyps(int n, SearchOptions o) {
            this.n = n;
            this.o = o;
        }

        void add(int[] tokens, float[] cumulative, double sumLogprobs, int generatedLen, boolean finished) {
            double score = sumLogprobs / Math.pow(generatedLen, o.lengthPenalty);
            if (beams.size() < n || score > worst) {
                beams.add(new Object[] {score, tokens, Hypothesis.deltas(cumulative), finished});
                if (beams.size() > n) {
                    // sorted((score, index)): drop the lowest (lowest index among ties), worst = the next one
                    Integer[] idx = new Integer[beams.size()];
                    for (int i = 0; i < idx.length; i++) idx[i] = i;
                    Arrays.sort(idx, (a, b) -> {
                        int c = Double.compare((Double) beams.get(a)[0], (Double) beams.get(b)[0]);
                        return c != 0 ? c : Integer.compare(a, b);
                    });
                    double next = (Double) beams.get(idx[1])[0];
                    beams.remove((int) idx[0]);
                    worst = next;
                } else {
                    worst = Math.min(score, worst);
                }
            }
        }

        boolean isDone(double bestSum, int curLen) {
            if (beams.size() < n) return false;
            double lp = o.lengthPenalty;
            if (o.earlyStopping.equals("true")) return true;
            if (o.earlyStopping.equals("false") || lp <= 0.0) return worst >= bestSum / Math.pow(curLen - 1, lp);
            return worst >= bestSum / Math.pow(o.maxLength - 1, lp);
        }
    }

    public static List<Hypothesis> run(StepFunction step, SearchOptions o, int decoderStart, int eos, int pad) {
        final int n = o.numBeams, groups = o.numGroups, m = n / groups, k = 2 * m;
        final float diversity = (float) o.diversity;
        float[] beamScores = new float[n];
        Arrays.fill(beamScores, -1e9f);
        for (int r = 0; r < n; r += m) beamScores[r] = 0f;
        int[][] prefixes = new int[n][0];
        float[][] cumul = new float[n][0];
        GroupHyps[] hyps = new GroupHyps[groups];
        for (int g = 0; g < groups; g++) hyps[g] = new GroupHyps(m, o);
        int[] tokens = new int[n];
        Arrays.fill(tokens, decoderStart);
        int[] parents = null;
        int[] active = new int[n]; // rows of groups not done: the only rows the step function computes
        for (int r = 0; r < n; r++) active[r] = r;
        int curLen = 1; // transformers counts the decoder start token
        while (true) {
            int[] activeTokens = new int[active.length];
            for (int i = 0; i < active.length; i++) activeTokens[i] = tokens[active[i]];
            float[][] computed = step.step(activeTokens, parents);
            float[][] logp = new float[n][]; // by full row number; rows of done groups stay null (never read)
            for (int i = 0; i < active.length; i++) logp[active[i]] = computed[i];
            int vocab = computed[0].length;
            int[] current = new int[n], reorder = new int[n];
            int[][] newPrefixes = new int[n][];
            float[][] newCumul = new float[n][];
            for (int g = 0; g < groups; g++) {
                GroupHyps h = hyps[g];
                int lo = g * m;
                if (h.done) {
                    for (int r = lo; r < lo + m; r++) {
                        beamScores[r] = 0f;
                        current[r] = pad;
                        reorder[r] = lo;
                        newPrefixes[r] = prefixes[lo];
                        newCumul[r] = cumul[lo];
                    }
                    continue;
                }
                float[] freq = null;
                if (g > 0 && o.diversity > 0) {
                    freq = new float[vocab];
                    for (int r = 0; r < lo; r++) freq[current[r]] += 1f;
                }
                float[] scores = new float[m * vocab];
                for (int j = 0; j < m; j++) {
                    float[] lp = logp[lo + j];
                    float bs = beamScores[lo + j];
                    for (int v = 0; v < vocab; v++) {
                        float s = lp[v];
                        if (freq != null) s = s - diversity * freq[v];
                        if (v == eos && curLen < o.minLength) s = Float.NEGATIVE_INFINITY;
                        scores[j * vocab + v] = s + bs;
                    }
                }
                int[] top = TopK.topK(scores, k);
                double bestSum = scores[top[0]];
                int filled = 0;
                for (int rank = 0; rank < top.length; rank++) {
                    int flat = top[rank];
                    int parent = lo + flat / vocab, tok = flat % vocab;
                    float value = scores[flat];
                    if (tok == eos) {
                        if (rank >= m) continue;
                        int[] t = Arrays.copyOf(prefixes[parent], prefixes[parent].length + 1);
                        t[t.length - 1] = eos;
                        float[] c = Arrays.copyOf(cumul[parent], cumul[parent].length + 1);
                        c[c.length - 1] = value;
                        h.add(t, c, value, prefixes[parent].length + 1, true);
                    } else {
                        int r = lo + filled;
                        beamScores[r] = value;
                        current[r] = tok;
                        reorder[r] = parent;
                        newPrefixes[r] = Arrays.copyOf(prefixes[parent], prefixes[parent].length + 1);
                        newPrefixes[r][newPrefixes[r].length - 1] = tok;
                        newCumul[r] = Arrays.copyOf(cumul[parent], cumul[parent].length + 1);
                        newCumul[r][newCumul[r].length - 1] = value;
                        filled++;
                    }
                    if (filled == m) break;
                }
                h.done = h.isDone(bestSum, curLen + 1);
            }
            prefixes = newPrefixes;
            cumul = newCumul;
            tokens = current;
            curLen++;
            boolean allDone = true;
            for (GroupHyps h : hyps) allDone &= h.done;
            if (allDone || curLen >= o.maxLength) break;
            // next call: rows of live groups in row order; parents index this call's computed rows
            // (a live group's rows descend from rows of the same group, which were computed)
            int[] position = new int[n];
            Arrays.fill(position, -1);
            for (int i = 0; i < active.length; i++) position[active[i]] = i;
            int live = 0;
            for (GroupHyps h : hyps) if (!h.done) live++;
            active = new int[live * m];
            parents = new int[live * m];
            int k2 = 0;
            for (int g = 0; g < groups; g++) {
                if (hyps[g].done) continue;
                for (int r = g * m; r < (g + 1) * m; r++) {
                    active[k2] = r;
                    parents[k2] = position[reorder[r]];
                    k2++;
                }
            }
        }
        for (GroupHyps h : hyps) {
            if (h.done) continue;
            int lo = Arrays.asList(hyps).indexOf(h) * m;
            for (int r = lo; r < lo + m; r++) h.add(prefixes[r], cumul[r], beamScores[r], prefixes[r].length, false);
        }
        List<Object[]> candidates = new ArrayList<>();
        for (GroupHyps h : hyps) candidates.addAll(h.beams);
        candidates.sort((a, b) -> Double.compare((Double) a[0], (Double) b[0])); // stable, as Python's sorted
        List<Hypothesis> out = new ArrayList<>();
        for (int i = 0; i < Math.min(o.returned(), candidates.size()); i++) {
            Object[] b = candidates.get(candidates.size() - 1 - i); // best popped from the end
            out.add(new Hypothesis((int[]) b[1], (double[]) b[2], (Double) b[0], (Boolean) b[3]));
        }
        return out;
    }
}
