// The model bundle: ONNX files, tokenizer.json and the manifest quals.json (docs/hosts.md §1; Python: quals.bundle).
//
// Where the files come from is a *file store* (src/node-files.js: a directory; src/web-files.js: a URL on the
// page's origin) with this interface:
//   store.location(name)  -> the file's path or URL, for messages
//   store.exists()        -> Promise<boolean>: whether the bundle itself (the directory) is there
//   store.read(name)      -> Promise<Uint8Array>, or null when the file is missing
//   store.sha256(name)    -> Promise<string> hex digest, or null when the file is missing
import { BundleError } from "./errors.js";

export const MANIFEST_NAME = "quals.json";
export const FORMAT_NAME = "quals-bundle";
export const FORMAT_VERSION = 1;

const repr = (v) => (v === undefined || v === null ? "None" : typeof v === "string" ? `'${v}'` : JSON.stringify(v));

function field(d, key, what) {
  if (d === null || typeof d !== "object" || !(key in d)) throw new BundleError(`${MANIFEST_NAME}: malformed manifest ('${key}' missing from ${what})`);
  return d[key];
}

/** The parsed manifest: the fields a host reads (docs/hosts.md §1), in the Python names. */
export class Manifest {
  static fromDict(d) {
    if (d === null || typeof d !== "object" || Array.isArray(d)) throw new BundleError(`${MANIFEST_NAME}: malformed manifest (not an object)`);
    if (d.format !== FORMAT_NAME) throw new BundleError(`${MANIFEST_NAME}: not a quals bundle manifest (format=${repr(d.format)})`);
    if (d.format_version !== FORMAT_VERSION) {
      throw new BundleError(
        `${MANIFEST_NAME}: format_version ${repr(d.format_version)} is not supported by this quals (it reads version ` +
          `${FORMAT_VERSION}); re-export the model or upgrade quals`,
      );
    }
    const m = new Manifest();
    m.family = field(d, "family", "the manifest");
    m.model_type = field(d, "model_type", "the manifest");
    m.files = { ...field(d, "files", "the manifest") };
    m.sha256 = { ...field(d, "sha256", "the manifest") };
    const t = field(d, "tokens", "the manifest");
    m.tokens = {
      pad: field(t, "pad", "tokens"),
      eos: field(t, "eos", "tokens"),
      decoder_start: field(t, "decoder_start", "tokens"),
      bos: t.bos ?? null,
      unk: t.unk ?? null,
    };
    const s = field(d, "separator", "the manifest");
    m.separator = { id: field(s, "id", "separator"), text: field(s, "text", "separator") };
    const e = field(d, "encoding", "the manifest");
    m.encoding = {
      prepend_bos: field(e, "prepend_bos", "encoding"),
      append_eos: field(e, "append_eos", "encoding"),
      max_source_tokens: field(e, "max_source_tokens", "encoding"),
      lowercase: e.lowercase ?? false,
    };
    const o = field(d, "onnx", "the manifest");
    m.onnx = {
      num_layers: field(o, "num_layers", "onnx"),
      num_heads: field(o, "num_heads", "onnx"),
      head_dim: field(o, "head_dim", "onnx"),
      hidden_size: field(o, "hidden_size", "onnx"),
      vocab_size: field(o, "vocab_size", "onnx"),
      past_input: o.past_input ?? "past_key_values.{layer}.{side}.{kv}",
      present_output: o.present_output ?? "present.{layer}.{side}.{kv}",
      use_cache_branch: o.use_cache_branch ?? "use_cache_branch",
    };
    m.search_defaults = { ...(d.search_defaults ?? {}) };
    m.score_defaults = { ...(d.score_defaults ?? {}) };
    m.ans_lm_ignore_ids = [...(d.ans_lm_ignore_ids ?? [])];
    m.max_target_tokens = d.max_target_tokens ?? 64;
    m.provenance = { ...(d.provenance ?? {}) };
    return m;
  }

  /** "merged" (one decoder graph with a use_cache_branch switch) or "split" (decoder + decoder_with_past). */
  get decoder_layout() {
    return "decoder_merged" in this.files ? "merged" : "split";
  }
}

export async function sha256Hex(bytes) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A checked bundle: its manifest, its id (`digest`, the sha256 of quals.json) and its file store. */
export class Bundle {
  constructor(store, manifest, digest) {
    this.store = store;
    this.manifest = manifest;
    this.digest = digest;
  }

  get path() {
    return this.store.root;
  }

  /** The file name of a role (encoder, decoder_merged, decoder, decoder_with_past, tokenizer, weights). */
  name(role) {
    return this.manifest.files[role];
  }
}

/**
 * Read and check a bundle, as Python's load_bundle: every file the manifest lists must exist and, when
 * `verify`, match its sha256; a partly copied or edited bundle is refused with a message naming the file.
 */
export async function loadBundle(store, { verify = true } = {}) {
  if (!(await store.exists())) throw new BundleError(`model bundle not found: ${store.root}`);
  const mpath = store.location(MANIFEST_NAME);
  const raw = await store.read(MANIFEST_NAME);
  if (raw === null) throw new BundleError(`${mpath}: missing manifest; is ${store.root} a bundle made by \`quals export\`?`);
  let data;
  try {
    data = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (exc) {
    throw new BundleError(`${mpath}: corrupt manifest (${exc.message})`);
  }
  const manifest = Manifest.fromDict(data);
  const roles = new Set(Object.keys(manifest.files));
  const complete = roles.has("encoder") && roles.has("tokenizer") &&
    (roles.has("decoder_merged") || (roles.has("decoder") && roles.has("decoder_with_past")));
  if (!complete) throw new BundleError(`${mpath}: the manifest lists no complete set of model files (has ${JSON.stringify([...roles].sort())})`);
  for (const [role, name] of Object.entries(manifest.files)) {
    if (!(name in manifest.sha256)) throw new BundleError(`${mpath}: no sha256 recorded for ${name} (${role})`);
  }
  for (const [name, digest] of Object.entries(manifest.sha256)) {
    const got = verify ? await store.sha256(name) : (await store.has(name)) ? digest : null;
    if (got === null) throw new BundleError(`${store.location(name)}: file missing from the bundle`);
    if (got !== digest) throw new BundleError(`${store.location(name)}: sha256 mismatch, the file is corrupt or was modified`);
  }
  return new Bundle(store, manifest, await sha256Hex(raw));
}
