#!/usr/bin/env node
// Replays conformance vectors (`quals conformance`, docs/hosts.md §6) through this host and checks every
// intermediate value against the Python runtime's: ids, hypothesis tokens, `finished`, span_valid, selected,
// pair strings and statuses equal; log-probs, search scores and QUALS within the file's tolerance (1e-4).
// A file with a calibration (the verdict mode) also checks each run's `verdicts` block: the summary's facts, the
// coverage pairs, every pair's features, logit, p_supported and verdict, and the record's verdict, p_consistent
// and unsupported facts (strings, spans and verdicts equal; numbers within the log-prob tolerance).
//
//   node tools/conformance.js [--bundle NAME=PATH]... [--root DIR] [--backend node|web] [--tolerance X] VECTORS_JSON...
//
// --backend web runs the same code on onnxruntime-web (WebAssembly) in Node: the browser's engine without a browser.
// Prints one JSON line per file (checks, failures, max differences, seconds); the first differences go to stderr.
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { pyStrip } from "../src/text.js";
import { VARIANTS, quals } from "../src/score.js";
import { findFacts } from "../src/facts.js";
import { FEATURES } from "../src/verdict.js";

function parseArgs(argv) {
  const a = { bundles: {}, root: process.cwd(), backend: "node", tolerance: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === "--bundle") {
      const kv = argv[++i];
      const eq = kv.indexOf("=");
      a.bundles[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (x === "--root") a.root = argv[++i];
    else if (x === "--backend") a.backend = argv[++i];
    else if (x === "--tolerance") a.tolerance = Number(argv[++i]);
    else a.files.push(x);
  }
  return a;
}

/** A Scorer factory on the chosen ONNX Runtime package. */
async function loader(backend) {
  if (backend === "node") return (await import("../src/node.js")).loadScorer;
  if (backend !== "web") throw new Error(`unknown backend ${backend}`);
  const { Scorer } = await import("../src/scorer.js");
  const { DirectoryStore } = await import("../src/node-files.js");
  const ort = await import("onnxruntime-web");
  ort.env.wasm.numThreads = 1;
  return (dir, options) => {
    const store = new DirectoryStore(dir);
    return Scorer.open(ort, store, {
      ...options,
      executionProviders: ["wasm"],
      provider: "wasm",
      modelSource: async (bundle, role) => {
        const weights = bundle.manifest.files.weights;
        const extra = weights ? { externalData: [{ path: weights, data: await store.read(weights) }] } : {};
        return { source: await store.read(bundle.name(role)), extra };
      },
    });
  };
}

class Checker {
  constructor(tol) {
    this.tol = tol;
    this.checks = 0;
    this.failures = [];
    this.maxLogprob = 0;
    this.maxQuals = 0;
    this.verdictChecks = 0; // of the checks, those of the verdict mode
    this.maxVerdict = 0; // max |difference| of its features, logits and probabilities
  }

  fail(p, what) {
    this.failures.push(`${p}: ${what}`);
  }

  eq(p, actual, expected) {
    this.checks++;
    if (actual !== expected) this.fail(p, `${JSON.stringify(actual)} != expected ${JSON.stringify(expected)}`);
  }

  ints(p, actual, expected) {
    this.checks++;
    const a = JSON.stringify(Array.from(actual));
    const e = JSON.stringify(expected);
    if (a !== e) this.fail(p, `${a} != expected ${e}`);
  }

  close(p, actual, expected, isQuals, isVerdict = false) {
    this.checks++;
    let d = Math.abs(actual - expected);
    if (actual === expected) d = 0; // -Infinity == -Infinity
    if (isQuals) this.maxQuals = Math.max(this.maxQuals, d);
    else if (isVerdict) this.maxVerdict = Math.max(this.maxVerdict, d);
    else this.maxLogprob = Math.max(this.maxLogprob, d);
    if (!(d <= (isQuals ? this.tol.quals : this.tol.logprob))) this.fail(p, `${actual} != expected ${expected} (diff ${d.toPrecision(3)})`);
  }

  floats(p, actual, expected, isQuals = false) {
    if (actual.length !== expected.length) {
      this.checks++;
      this.fail(p, `length ${actual.length} != expected ${expected.length}`);
      return;
    }
    for (let i = 0; i < expected.length; i++) this.close(`${p}[${i}]`, actual[i], expected[i], isQuals);
  }
}

function checkEncoded(c, p, scorer, text, expected) {
  const s = pyStrip(text);
  if (expected === null || s.length === 0) {
    c.eq(p, s.length === 0 ? null : "non-null", expected === null ? null : "non-null");
    return;
  }
  const enc = scorer.codec.encode(s, null);
  c.ints(`${p}.ids`, enc.ids, expected.ids);
  c.eq(`${p}.n_text_tokens`, enc.n_text_tokens, expected.n_text_tokens);
  c.eq(`${p}.truncated`, enc.truncated, expected.truncated);
}

async function checkRun(c, p, base, kase, run) {
  const o = run.options;
  p += `[${o.search}]`;
  const scorer = base.withOptions({
    search: o.search, num_beams: o.num_beams, num_groups: o.num_groups, diversity: o.diversity, min_length: o.min_length,
    max_length: o.max_length, length_penalty: o.length_penalty, max_pairs: o.max_pairs, max_source_tokens: o.max_source_tokens,
  });
  const w = await scorer.trace(kase.source, kase.summary);
  const hyps = run.hypotheses;
  c.eq(`${p}.hypotheses.length`, w.hypotheses.length, hyps.length);
  for (let i = 0; i < Math.min(hyps.length, w.hypotheses.length); i++) {
    const h = w.hypotheses[i];
    const e = hyps[i];
    const hp = `${p}.hypotheses[${i}]`;
    c.ints(`${hp}.tokens`, h.tokens, e.tokens);
    c.eq(`${hp}.finished`, h.finished, e.finished);
    c.floats(`${hp}.token_scores`, h.token_scores, e.token_scores);
    c.close(`${hp}.score`, h.score, e.score, false);
  }
  const index = new Map(w.hypotheses.map((h, i) => [h, i]));
  c.ints(`${p}.span_valid`, w.span_valid.map((q) => index.get(q.hypothesis)), run.span_valid);
  c.ints(`${p}.selected`, w.selected.map((q) => index.get(q.hypothesis)), run.selected);
  const r = w.result;
  c.eq(`${p}.pairs.length`, r.pairs.length, run.pairs.length);
  for (let i = 0; i < Math.min(run.pairs.length, r.pairs.length); i++) {
    const e = run.pairs[i];
    const q = r.pairs[i];
    const pp = `${p}.pairs[${i}]`;
    c.eq(`${pp}.hypothesis`, index.get(w.selected[i].hypothesis), e.hypothesis);
    c.eq(`${pp}.question`, w.selected[i].question, e.question); // the metric's decoding (the Result's is for people)
    c.eq(`${pp}.answer`, w.selected[i].answer, e.answer);
    c.ints(`${pp}.tokens`, q.tokens, e.tokens);
    c.eq(`${pp}.sep_index`, w.selected[i].sep_index, e.sep_index);
    c.ints(`${pp}.answer_index`, q.answer_index, e.answer_index);
    c.floats(`${pp}.logp_source`, q.logp_source, e.logp_source);
    c.floats(`${pp}.logp_summary`, q.logp_summary, e.logp_summary);
    c.floats(`${pp}.search_scores`, q.search_scores, e.search_scores);
    c.close(`${pp}.s_x`, q.s_x, e.s_x, true);
    c.close(`${pp}.s_y`, q.s_y, e.s_y, true);
    for (const v of VARIANTS) c.close(`${pp}.values.${v}`, q.valueFor(v), e.values[v], true);
  }
  const res = run.result;
  const rp = `${p}.result`;
  for (const k of ["status", "error", "n_pairs", "n_hypotheses", "n_span_valid", "source_tokens", "source_truncated", "summary_tokens", "summary_truncated"]) {
    c.eq(`${rp}.${k}`, r[k], res[k]);
  }
  for (const v of VARIANTS) {
    const mine = quals(r.pairs, v);
    const exp = res.quals[v];
    if (mine === null || exp === null) c.eq(`${rp}.quals.${v}`, mine === null ? null : "number", exp === null ? null : "number");
    else c.close(`${rp}.quals.${v}`, mine, exp, true);
  }
  if (run.verdicts !== undefined) {
    const before = c.checks;
    checkVerdicts(c, `${p}.verdicts`, scorer, w, run.verdicts);
    c.verdictChecks += c.checks - before;
  }
}

/** The verdict mode's steps of one run (Python: quals.tasks.conformance._verdicts). */
function checkVerdicts(c, p, scorer, w, v) {
  const cal = scorer.calibration;
  const r = w.result;
  const facts = w.summary ? findFacts(w.summary, cal.common_words) : [];
  c.eq(`${p}.facts.length`, facts.length, v.facts.length);
  for (let i = 0; i < Math.min(facts.length, v.facts.length); i++) {
    for (const k of ["start", "end", "kind", "text"]) c.eq(`${p}.facts[${i}].${k}`, facts[i][k], v.facts[i][k]);
  }
  c.eq(`${p}.coverage.length`, w.coverage.length, v.coverage.length);
  for (let i = 0; i < Math.min(w.coverage.length, v.coverage.length, r.coverage.length); i++) {
    const t = w.coverage[i];
    const s = r.coverage[i];
    const e = v.coverage[i];
    const cp = `${p}.coverage[${i}]`;
    c.eq(`${cp}.question`, t.question, e.question);
    c.eq(`${cp}.answer`, t.answer, e.answer);
    c.ints(`${cp}.fact`, [t.fact.start, t.fact.end], e.fact);
    c.ints(`${cp}.tokens`, t.tokens, e.tokens);
    c.eq(`${cp}.sep_index`, t.sep_index, e.sep_index);
    c.ints(`${cp}.answer_index`, s.answer_index, e.answer_index);
    c.floats(`${cp}.logp_source`, s.logp_source, e.logp_source);
    c.floats(`${cp}.logp_summary`, s.logp_summary, e.logp_summary);
  }
  const scored = [...r.pairs, ...r.coverage];
  const evidence = scored.length ? scorer.evidence(w, scored) : [];
  c.eq(`${p}.pairs.length`, scored.length, v.pairs.length);
  for (let i = 0; i < Math.min(scored.length, v.pairs.length); i++) {
    const e = v.pairs[i];
    const pp = `${p}.pairs[${i}]`;
    for (const f of cal.features) c.close(`${pp}.features.${f}`, FEATURES[f](evidence[i]), e.features[f], false, true);
    c.close(`${pp}.logit`, cal.pairLogit(evidence[i]), e.logit, false, true);
    c.close(`${pp}.p_supported`, scored[i].p_supported, e.p_supported, false, true);
    c.eq(`${pp}.verdict`, scored[i].verdict, e.verdict);
  }
  c.eq(`${p}.verdict`, r.verdict, v.verdict);
  if (r.p_consistent === null || v.p_consistent === null) c.eq(`${p}.p_consistent`, r.p_consistent, v.p_consistent);
  else c.close(`${p}.p_consistent`, r.p_consistent, v.p_consistent, false, true);
  if (r.unsupported === null || v.unsupported === null) {
    c.eq(`${p}.unsupported`, r.unsupported, v.unsupported);
    return;
  }
  c.eq(`${p}.unsupported.length`, r.unsupported.length, v.unsupported.length);
  for (let i = 0; i < Math.min(r.unsupported.length, v.unsupported.length); i++) {
    const u = r.unsupported[i];
    const e = v.unsupported[i];
    c.eq(`${p}.unsupported[${i}].question`, u.question, e.question);
    c.eq(`${p}.unsupported[${i}].answer`, u.answer, e.answer);
    c.eq(`${p}.unsupported[${i}].span`, JSON.stringify(u.span), JSON.stringify(e.span));
  }
}

async function runFile(file, args, load) {
  const t0 = performance.now();
  const doc = JSON.parse(readFileSync(file, "utf-8"));
  if (doc.format !== "quals-conformance" || doc.format_version !== 1) throw new Error(`${file}: not a quals-conformance format_version 1 document`);
  const tol = { ...(doc.tolerance ?? { logprob: 1e-4, quals: 1e-4 }) };
  if (args.tolerance !== null) tol.logprob = tol.quals = args.tolerance;
  const name = doc.bundle.name;
  const bundlePath = args.bundles[name] ?? path.resolve(args.root, doc.bundle.path);
  const c = new Checker(tol);
  const scorer = await load(bundlePath, { threads: 1 });
  try {
    c.eq("$.bundle.digest", scorer.bundle.digest, doc.bundle.digest);
    // the calibration the vectors were made with (null: none, and no verdicts) is the one this host loaded
    c.eq("$.calibration.id", scorer.calibration?.id ?? null, doc.calibration?.id ?? null);
    doc.tokenization.forEach((t, i) => c.ints(`$.tokenization[${i}] ${JSON.stringify(t.text)}`, scorer.textIds(t.text), t.ids));
    doc.decoding.forEach((t, i) => c.eq(`$.decoding[${i}]`, scorer.decode(t.ids), t.text));
    for (const [ci, kase] of doc.cases.entries()) {
      const p = `$.cases[${ci}](${kase.name})`;
      checkEncoded(c, `${p}.encoded.source`, scorer, kase.source, kase.encoded.source);
      checkEncoded(c, `${p}.encoded.summary`, scorer, kase.summary, kase.encoded.summary);
      for (const [ri, run] of kase.runs.entries()) await checkRun(c, `${p}.runs[${ri}]`, scorer, kase, run);
    }
  } finally {
    await scorer.close();
  }
  console.log(JSON.stringify({
    vectors: file, bundle: name, backend: args.backend, checked: c.checks, failures: c.failures.length,
    max_logprob_diff: c.maxLogprob, max_quals_diff: c.maxQuals, verdict_checks: c.verdictChecks, max_verdict_diff: c.maxVerdict,
    seconds: Math.round((performance.now() - t0) / 10) / 100,
  }));
  if (c.failures.length) {
    console.error(`first differences (${c.failures.length} in all) for ${file}:`);
    for (const f of c.failures.slice(0, Number(process.env.QUALS_JS_SHOW_DIFFS ?? 25))) console.error(`  ${f}`);
  }
  return c.failures.length === 0;
}

export async function main(argv) {
  const args = parseArgs(argv);
  if (!args.files.length) {
    console.error("usage: conformance.js [--bundle NAME=PATH]... [--root DIR] [--backend node|web] [--tolerance X] VECTORS_JSON...");
    return 2;
  }
  const load = await loader(args.backend);
  let rc = 0;
  for (const f of args.files) {
    try {
      if (!(await runFile(f, args, load))) rc = 1;
    } catch (exc) {
      console.log(JSON.stringify({ vectors: f, error: exc.message }));
      console.error(`error: ${f}: ${exc.stack ?? exc}`);
      rc = 1;
    }
  }
  return rc;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main(process.argv.slice(2));
