#!/usr/bin/env node
// quals for Node: score a JSONL file of {"source", "summary"} records, one JSON line per record, as `quals score`
// writes them (input fields passed through, then the result fields; --details adds the pairs).
//
//   node hosts/js/cli.js score --model BUNDLE [--threads T] [--search hf|fairseq] [--num-beams N] [--num-groups N]
//        [--diversity X] [--min-length N] [--max-length N] [--length-penalty X] [--variant paper|clean|ans_lm]
//        [--max-pairs N] [--max-source-tokens N] [--details] [--signature] [--limit N] FILE.jsonl|-
//
// stderr: the load time and the per-summary mean and median wall-clock and process CPU time. Exit status as `quals score`:
// 0 all scored, 1 some record could not be scored (status "error"), 2 usage or options, 3 bundle refused.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { BundleError, OptionsError, QualsError, loadScorer } from "./src/node.js";
import { errorResult } from "./src/result.js";
import { pyJsonLine } from "./src/pyjson.js";

const RESULT_FIELDS = new Set(["quals", "n_pairs", "status", "error", "variant", "n_hypotheses", "n_span_valid", "source_tokens",
  "source_truncated", "summary_tokens", "summary_truncated", "verdict", "p_consistent", "unsupported"]);
const INT_OPTIONS = new Set(["num_beams", "num_groups", "min_length", "max_length", "num_return", "max_pairs", "max_source_tokens", "rescore_rows"]);
const FLOAT_OPTIONS = new Set(["diversity", "length_penalty"]);
const STRING_OPTIONS = new Set(["search", "variant", "early_stopping"]);
const USAGE = `usage: node cli.js score --model BUNDLE [--threads T] [--search hf|fairseq] [--num-beams N] [--num-groups N]
       [--diversity X] [--min-length N] [--max-length N] [--length-penalty X] [--variant paper|clean|ans_lm]
       [--max-pairs N] [--max-source-tokens N] [--details] [--signature] [--limit N] FILE.jsonl|-`;

class UsageError extends Error {}

export function parseArgs(argv) {
  if (argv[0] !== "score") throw new UsageError(argv.length ? `unknown command '${argv[0]}'` : "no command");
  const a = { model: process.env.QUALS_MODEL ?? "models/default", threads: null, details: false, signature: false, limit: Infinity, input: null, overrides: {} };
  for (let i = 1; i < argv.length; i++) {
    const x = argv[i];
    if (x === "-" || !x.startsWith("--")) {
      if (a.input !== null) throw new UsageError("more than one input file");
      a.input = x;
      continue;
    }
    let [flag, value] = x.includes("=") ? [x.slice(0, x.indexOf("=")), x.slice(x.indexOf("=") + 1)] : [x, undefined];
    if (flag === "--details") { a.details = true; continue; }
    if (flag === "--signature") { a.signature = true; continue; }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`missing value for ${flag}`);
      value = argv[++i];
    }
    const key = flag.slice(2).replaceAll("-", "_");
    const number = (v, int) => {
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n) || (int && !Number.isInteger(n))) throw new UsageError(`${flag}: not ${int ? "an integer" : "a number"}: '${v}'`);
      return n;
    };
    if (key === "model" || key === "input") a[key] = value;
    else if (key === "threads") a.threads = number(value, true);
    else if (key === "limit") a.limit = number(value, true);
    else if (INT_OPTIONS.has(key)) a.overrides[key] = number(value, true);
    else if (FLOAT_OPTIONS.has(key)) a.overrides[key] = number(value, false);
    else if (STRING_OPTIONS.has(key)) a.overrides[key] = key === "early_stopping" ? { true: true, false: false }[value.toLowerCase()] ?? value : value;
    else throw new UsageError(`unknown option ${flag}`);
  }
  if (a.input === null) throw new UsageError("no input file (a path, or - for stdin)");
  return a;
}

/** A record from one JSONL line, or {bad: reason, fields} saying why it cannot be scored (as quals' reader). */
function readRecord(text, line) {
  let rec;
  try {
    rec = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (exc) {
    return { bad: `line ${line}: not JSON (${exc.message})`, fields: {} };
  }
  if (rec === null || typeof rec !== "object" || Array.isArray(rec)) return { bad: `line ${line}: a record must be a JSON object`, fields: {} };
  const missing = ["source", "summary"].filter((k) => !(k in rec));
  if (missing.length) return { bad: `line ${line}: missing field(s): ${missing.join(", ")}`, fields: rec };
  const wrong = ["source", "summary"].filter((k) => typeof rec[k] !== "string");
  if (wrong.length) return { bad: `line ${line}: field(s) must be strings: ${wrong.join(", ")}`, fields: rec };
  return { rec };
}

function outputRecord(fields, result, details) {
  const out = {};
  for (const [k, v] of Object.entries(fields)) if (!RESULT_FIELDS.has(k) && k !== "pairs" && k !== "coverage_pairs") out[k] = v;
  return Object.assign(out, result.toDict(details));
}

const median = (xs) => {
  const t = [...xs].sort((a, b) => a - b);
  return t.length === 0 ? 0 : t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
};

export async function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
  } catch (exc) {
    if (!(exc instanceof UsageError)) throw exc;
    process.stderr.write(`error: ${exc.message}\n${USAGE}\n`);
    return 2;
  }
  const t0 = performance.now();
  let scorer;
  try {
    scorer = await loadScorer(args.model, { threads: args.threads, ...args.overrides });
  } catch (exc) {
    if (!(exc instanceof QualsError)) throw exc;
    process.stderr.write(`error: ${exc.message}\n`);
    return exc instanceof OptionsError ? 2 : exc instanceof BundleError ? 3 : 1;
  }
  process.stderr.write(`quals-js: loaded ${args.model} in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`);
  if (args.signature) process.stderr.write(`${scorer.signature()}\n`);
  const input = args.input === "-" ? process.stdin : createReadStream(args.input);
  const lines = createInterface({ input, crlfDelay: Infinity });
  const times = [];
  const cpu = []; // process CPU (user + system): ONNX Runtime's threads included
  let errors = 0;
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (!text.trim()) continue;
      if (times.length >= args.limit) break;
      const t = performance.now();
      const c = process.cpuUsage();
      const r = readRecord(text, line);
      const result = r.bad !== undefined ? errorResult(r.bad, scorer.options.variant) : await scorer.scoreOne(r.rec.source, r.rec.summary);
      times.push((performance.now() - t) / 1000);
      const dc = process.cpuUsage(c);
      cpu.push((dc.user + dc.system) / 1e6);
      if (result.status === "error") errors++;
      const ok = process.stdout.write(pyJsonLine(outputRecord(r.rec ?? r.fields, result, args.details)));
      if (!ok) await new Promise((resolve) => process.stdout.once("drain", resolve));
    }
  } finally {
    await scorer.close();
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  process.stderr.write(`quals-js: ${times.length} records; per summary wall mean ${mean(times).toFixed(3)} s, median ` +
    `${median(times).toFixed(3)} s; process CPU mean ${mean(cpu).toFixed(3)} s, median ${median(cpu).toFixed(3)} s ` +
    `(threads=${args.threads ?? "default"})\n`);
  if (errors) process.stderr.write(`quals-js: ${errors} of ${times.length} record(s) could not be scored (status: error)\n`);
  return errors ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main(process.argv.slice(2));
