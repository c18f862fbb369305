package io.quals.search;

import io.quals.QualsException.OptionsException;

/**
 * Diverse (group) beam search settings; each field means what it means in the chosen implementation
 * ("hf": transformers 4.56 generate, "fairseq": fairseq 0.9). See docs/search.md.
 */
public final class SearchOptions {
    public final String search;
    public final int numBeams, numGroups;
    public final double diversity;
    public final int minLength, maxLength;
    public final double lengthPenalty;
    public final Integer numReturn; // hf only: num_return_sequences (null: num_beams)
    public final String earlyStopping; // hf only: "true", "false" or "never"

    public SearchOptions(String search, int numBeams, int numGroups, double diversity, int minLength, int maxLength,
                         double lengthPenalty, Integer numReturn, String earlyStopping) {
        this.search = search;
        this.numBeams = numBeams;
        this.numGroups = numGroups;
        this.diversity = diversity;
        this.minLength = minLength;
        this.maxLength = maxLength;
        this.lengthPenalty = lengthPenalty;
        this.numReturn = numReturn;
        this.earlyStopping = earlyStopping;
        if (!search.equals("hf") && !search.equals("fairseq"))
            throw new OptionsException("unknown search '" + search + "'; choose one of hf, fairseq");
        if (numBeams < 1 || numGroups < 1) throw new OptionsException("num_beams and num_groups must be >= 1");
        if (numBeams % numGroups != 0)
            throw new OptionsException("num_beams (" + numBeams + ") must be divisible by num_groups (" + numGroups + ")");
        if (diversity < 0) throw new OptionsException("diversity must be >= 0");
        if (maxLength < 1 || minLength < 0) throw new OptionsException("max_length must be >= 1 and min_length >= 0");
        if (numReturn != null && (numReturn < 1 || numReturn > numBeams))
            throw new OptionsException("num_return must be between 1 and num_beams (" + numBeams + ")");
        if (!earlyStopping.equals("true") && !earlyStopping.equals("false") && !earlyStopping.equals("never"))
            throw new OptionsException("early_stopping must be true, false or never");
    }

    public int returned() {
        return numReturn == null ? numBeams : numReturn;
    }
}
