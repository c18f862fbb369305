#!/usr/bin/env node
// The refusals a host owes its users, checked on temporary copies of a small bundle (as the Java and C# hosts'
// checks): a tampered, missing or unsupported-version file, an unsupported tokenizer component, a missing
// bundle and a calibration.json that is corrupt or another bundle's each throw a BundleError naming the problem;
// empty or non-string inputs give status "error".
//
//   node tools/refusals.js [BUNDLE]      (a merged-decoder test bundle; default build/test-bundles/v7/bundle-bart)
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { BundleError, OptionsError, loadScorer } from "../src/node.js";

const bundle = process.argv[2] ?? "build/test-bundles/v7/bundle-bart";
const tmp = mkdtempSync(path.join(tmpdir(), "quals-js-refusals-"));
let failures = 0;
let checks = 0;

function fail(message) {
  failures++;
  console.error(`FAIL ${message}`);
}

function copy(name, edit) {
  const dst = path.join(tmp, name);
  cpSync(bundle, dst, { recursive: true });
  edit(dst);
  return dst;
}

function editJson(file, edit) {
  const doc = JSON.parse(readFileSync(file, "utf-8"));
  edit(doc);
  writeFileSync(file, JSON.stringify(doc));
}

/** Edits tokenizer.json and records its new sha256, so that only the tokenizer check can object. */
function editTokenizer(dir, edit) {
  const file = path.join(dir, "tokenizer.json");
  editJson(file, edit);
  const digest = createHash("sha256").update(readFileSync(file)).digest("hex");
  editJson(path.join(dir, "quals.json"), (m) => (m.sha256["tokenizer.json"] = digest));
}

async function expectLoadError(what, dir, fragment, type = BundleError, overrides = {}) {
  checks++;
  try {
    const s = await loadScorer(dir, { threads: 1, ...overrides });
    await s.close();
    fail(`${what}: loaded without error`);
  } catch (exc) {
    if (!(exc instanceof type)) fail(`${what}: ${exc.name} instead of ${type.name}: ${exc.message}`);
    else if (!exc.message.includes(fragment)) fail(`${what}: message '${exc.message}' lacks '${fragment}'`);
  }
}

/** A valid calibration.json (src/verdict.js) fitted for the bundle `digest`. */
function writeCalibration(dir, digest) {
  writeFileSync(path.join(dir, "calibration.json"), JSON.stringify({
    format: "quals-calibration", format_version: 1, bundle: digest, features: ["pair_diff"], center: [0], scale: [1],
    pair: { weights: [1], bias: 0, unsupported_below: 0.4, supported_from: 0.6 }, aggregate: "mean",
    summary: { weights: [1], bias: 0, inconsistent_below: 0.4, consistent_from: 0.6 }, facts: { common_words: ["the"] },
    provenance: {},
  }));
}

function expectStatus(r, error) {
  checks++;
  if (r.status !== "error" || r.quals !== null || r.error !== error) fail(`expected status error '${error}', got ${r.status} '${r.error}'`);
}

try {
  await expectLoadError("tampered file", copy("tampered", (d) => appendFileSync(path.join(d, "tokenizer.json"), " ")), "tokenizer.json: sha256 mismatch");
  await expectLoadError("missing file", copy("missing", (d) => unlinkSync(path.join(d, "encoder_model.onnx"))), "encoder_model.onnx: file missing");
  await expectLoadError("format_version", copy("version", (d) => editJson(path.join(d, "quals.json"), (m) => (m.format_version = 2))),
    "format_version 2 is not supported");
  await expectLoadError("format", copy("format", (d) => editJson(path.join(d, "quals.json"), (m) => (m.format = "other"))),
    "not a quals bundle manifest");
  await expectLoadError("no manifest", copy("nomanifest", (d) => unlinkSync(path.join(d, "quals.json"))), "missing manifest");
  await expectLoadError("unsupported normalizer", copy("normalizer", (d) => editTokenizer(d, (t) => (t.normalizer = { type: "Replace", pattern: { String: "a" }, content: "b" }))),
    "unsupported tokenizer normalizer 'Replace'");
  await expectLoadError("unsupported model", copy("model", (d) => editTokenizer(d, (t) => (t.model.type = "WordLevel"))),
    "unsupported tokenizer model 'WordLevel'");
  await expectLoadError("unsupported pre-tokenizer", copy("pretok", (d) => editTokenizer(d, (t) => (t.pre_tokenizer = { type: "Whitespace" }))),
    "unsupported tokenizer pre_tokenizer 'Whitespace'");
  await expectLoadError("no bundle", path.join(tmp, "nonexistent"), "model bundle not found");
  const digest = createHash("sha256").update(readFileSync(path.join(bundle, "quals.json"))).digest("hex");
  await expectLoadError("another bundle's calibration", copy("othercal", (d) => writeCalibration(d, "0".repeat(64))),
    `was fitted for bundle 000000000000, not this one (${digest.slice(0, 12)})`);
  await expectLoadError("corrupt calibration", copy("badcal", (d) => writeFileSync(path.join(d, "calibration.json"), "{")), "corrupt calibration");
  await expectLoadError("calibration format", copy("fmtcal", (d) => writeFileSync(path.join(d, "calibration.json"), JSON.stringify({ format: "x" }))),
    "not a quals-calibration file of version 1");
  await expectLoadError("unknown option", bundle, "unknown option(s): beams", OptionsError, { beams: 3 });
  await expectLoadError("max_source_tokens", bundle, "is above this bundle's limit", OptionsError, { max_source_tokens: 100000 });
  const q = await loadScorer(bundle, { threads: 1 });
  try {
    expectStatus(await q.scoreOne("A source text.", "  \n\t"), "summary is empty");
    expectStatus(await q.scoreOne(" ", "A summary."), "source is empty");
    expectStatus(await q.scoreOne(null, "A summary."), "source and summary must be strings");
    expectStatus(await q.scoreOne("A source.", "bad \udcff half"),
      "summary holds a lone surrogate (U+D800-U+DFFF, e.g. from a JSON escape like \\udcff): not text any tokenizer can encode");
  } finally {
    await q.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(JSON.stringify({ refusals: bundle, checks, failures }));
process.exitCode = failures === 0 ? 0 : 1;
