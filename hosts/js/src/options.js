// Scoring options: what changes a QUALS number besides the bundle, and how the manifest's defaults fill them
// (Python: quals.options). Option names are the Python ones: search, num_beams, num_groups, diversity,
// min_length, max_length, length_penalty, num_return, early_stopping, variant, max_pairs, max_source_tokens,
// rescore_rows.
import { OptionsError } from "./errors.js";
import { VARIANTS } from "./score.js";
import { SEARCH_FIELDS, SearchOptions } from "./search/base.js";

export const OPTION_FIELDS = ["variant", "max_pairs", "max_source_tokens", "rescore_rows"];

export class QualsOptions {
  constructor({ search = new SearchOptions(), variant = "paper", max_pairs = 10, max_source_tokens = null, rescore_rows = 64 } = {}) {
    Object.assign(this, { search, variant, max_pairs, max_source_tokens, rescore_rows });
    if (!VARIANTS.includes(variant)) throw new OptionsError(`unknown variant '${variant}'; choose one of ${VARIANTS.join(", ")}`);
    if (!Number.isInteger(max_pairs) || max_pairs < 1) throw new OptionsError("max_pairs must be >= 1");
    if (max_source_tokens !== null && !(Number.isInteger(max_source_tokens) && max_source_tokens >= 1)) {
      throw new OptionsError("max_source_tokens must be >= 1");
    }
    if (!Number.isInteger(rescore_rows) || rescore_rows < 1) throw new OptionsError("rescore_rows must be >= 1");
    Object.freeze(this);
  }
}

/** The manifest's default SearchOptions for `search` (default: the manifest's default search). */
export function searchDefaults(manifestDefaults, search = null) {
  const name = search ?? manifestDefaults.search ?? "hf";
  let block = manifestDefaults[name];
  if (block === null || typeof block !== "object") {
    block = Object.fromEntries(Object.entries(manifestDefaults).filter(([, v]) => v === null || typeof v !== "object"));
  }
  const fields = Object.fromEntries(Object.entries(block).filter(([k]) => SEARCH_FIELDS.includes(k)));
  return new SearchOptions({ ...fields, search: name });
}

/**
 * The manifest's defaults, then `base`, then overrides (QualsOptions or SearchOptions fields by their Python
 * names; null/undefined values are ignored). Switching the search starts from the manifest's block for it.
 */
export function defaultOptions(manifest, base = null, overrides = {}) {
  const unknown = Object.keys(overrides).filter((k) => !SEARCH_FIELDS.includes(k) && !OPTION_FIELDS.includes(k)).sort();
  if (unknown.length) throw new OptionsError(`unknown option(s): ${unknown.join(", ")}`);
  const given = Object.entries(overrides).filter(([, v]) => v !== null && v !== undefined);
  const searchOver = Object.fromEntries(given.filter(([k]) => SEARCH_FIELDS.includes(k)));
  const optionOver = Object.fromEntries(given.filter(([k]) => OPTION_FIELDS.includes(k)));
  const defaults = manifest.search_defaults;
  if (base === null) {
    const scoreDefaults = Object.fromEntries(Object.entries(manifest.score_defaults).filter(([k]) => OPTION_FIELDS.includes(k)));
    base = new QualsOptions({ search: searchDefaults(defaults), ...scoreDefaults });
  }
  let search = base.search;
  if ((searchOver.search ?? search.search) !== search.search) search = searchDefaults(defaults, searchOver.search);
  search = Object.keys(searchOver).length ? search.with(searchOver) : search;
  const options = new QualsOptions({ ...base, search, ...optionOver });
  const limit = manifest.encoding.max_source_tokens;
  if (options.max_source_tokens !== null && options.max_source_tokens > limit) {
    throw new OptionsError(
      `max_source_tokens ${options.max_source_tokens} is above this bundle's limit of ${limit} text tokens ` +
        "(set at export: a BART encoder has no positions past it)",
    );
  }
  return options;
}
