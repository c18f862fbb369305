// The browser entry point: quals on onnxruntime-web (WebAssembly), a bundle fetched from a URL.
//
// The page maps the bare specifiers "onnxruntime-web" and "@huggingface/tokenizers" with an import map (see
// web/index.html). Threads: set ort.env.wasm.numThreads before loading; more than one needs a cross-origin
// isolated page (COOP/COEP headers).
import * as ort from "onnxruntime-web";
import { UrlStore } from "./web-files.js";
import { Scorer } from "./scorer.js";

/**
 * Load the bundle at `url` (a directory URL on the page's origin). options: verify (sha256 of every file,
 * default true), progress(name, bytes, total), fetch, and option overrides by their Python names.
 * The bytes that were hashed are the bytes the sessions are made from; an fp16-weights bundle's weights.bin is
 * handed to ONNX Runtime as the models' external data.
 */
export function loadScorer(url, { progress = null, fetch = undefined, ...options } = {}) {
  const store = new UrlStore(url, { progress, ...(fetch ? { fetch } : {}) });
  return Scorer.open(ort, store, {
    ...options,
    executionProviders: ["wasm"],
    provider: "wasm",
    modelSource: async (bundle, role) => {
      const source = await store.read(bundle.name(role));
      const weights = bundle.manifest.files.weights;
      const extra = weights ? { externalData: [{ path: weights, data: await store.read(weights) }] } : {};
      return { source, extra };
    },
  });
}

Scorer.load = loadScorer;

export { ort };
export { BundleError, InputError, OptionsError, QualsError } from "./errors.js";
export { Result } from "./result.js";
export { VARIANTS } from "./score.js";
export { Scorer, UrlStore };
