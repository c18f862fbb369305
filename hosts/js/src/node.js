// The Node entry point: quals on onnxruntime-node, bundles read from a directory.
//
//   import { Scorer } from "quals-host-js";          // hosts/js/src/node.js
//   const scorer = await Scorer.load("models/default", { threads: 1 });
//   const result = await scorer.scoreOne(source, summary);   // result.quals, result.status, result.pairs
import * as ort from "onnxruntime-node";
import { DirectoryStore } from "./node-files.js";
import { Scorer } from "./scorer.js";

/**
 * Load a bundle directory. options: threads (intra-op threads; default ONNX Runtime's), verify (check the
 * sha256 of every file, default true), and option overrides by their Python names (search, num_beams, variant...).
 * ONNX Runtime opens the model files itself, so an fp16-weights bundle's shared weights.bin is found next to them.
 */
export function loadScorer(path, options = {}) {
  return Scorer.open(ort, new DirectoryStore(path), {
    ...options,
    executionProviders: ["cpu"],
    provider: "cpu",
    modelSource: (bundle, role) => ({ source: bundle.store.path(bundle.name(role)), extra: {} }),
  });
}

Scorer.load = loadScorer;

export { ort };
export { Bundle, Manifest, loadBundle } from "./bundle.js";
export { BundleError, InputError, OptionsError, QualsError } from "./errors.js";
export { QualsOptions, defaultOptions } from "./options.js";
export { Result } from "./result.js";
export { PairScore, VARIANTS } from "./score.js";
export { Hypothesis, SearchOptions } from "./search/index.js";
export { DirectoryStore, Scorer };
