package io.quals.search;

/** Log-probs of the next token for every row (runtime/quals/search/base.py::StepFn). */
public interface StepFunction {
    /**
     * @param tokens the token just appended to each row (the decoder start token on the first call)
     * @param parents the row of the previous call each row extends; null on the first call
     * @return float32 log-probs, one row of vocabulary size per input row
     */
    float[][] step(int[] tokens, int[] parents);
}
