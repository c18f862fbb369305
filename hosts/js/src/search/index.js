// The two searches over a step function (Python: quals.search).
import { fairseqDiverseBeamSearch } from "./fairseq.js";
import { hfGroupBeamSearch } from "./hf.js";

export { Hypothesis, SEARCHES, SEARCH_FIELDS, SearchOptions, topK } from "./base.js";
export { fairseqDiverseBeamSearch, hfGroupBeamSearch };

/** Run the search opts.search names; hypotheses come back in the order that search returns them. */
export function runSearch(step, opts, tokens) {
  return opts.search === "hf" ? hfGroupBeamSearch(step, opts, tokens) : fairseqDiverseBeamSearch(step, opts, tokens);
}
