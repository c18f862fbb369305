// Scorer: load a bundle once, then score (source, summary) records (docs/hosts.md §4; Python: quals.scorer).
//
// Per summary: encode it, run the diverse beam search, parse and select QA pairs, teacher-force them on the
// summary. Per distinct source: encode it once, then teacher-force each of its summaries' pairs on it. Then the
// score. A record that cannot be scored gets a Result with status "error" and a message; the others go on.
// With a calibration beside the bundle (the verdict mode, docs/hosts.md "Verdicts"): coverage pairs for the
// summary's facts that no selected pair asks about, and every pair judged (src/verdict.js).
import { loadBundle } from "./bundle.js";
import { coverageTargets } from "./coverage.js";
import { Engine } from "./engine.js";
import { BundleError, InputError } from "./errors.js";
import { defaultOptions } from "./options.js";
import { answerInSummary, answerSpan, parse, select } from "./qa.js";
import { Result, STATUS_NO_PAIRS, STATUS_OK, errorResult } from "./result.js";
import { pairText } from "./readable.js";
import { PairScore, pairScore, quals } from "./score.js";
import { runSearch } from "./search/index.js";
import { TextCodec, pyStrip } from "./text.js";
import { PairEvidence, SourceText, loadCalibration } from "./verdict.js";

export const VERSION = "0.1.0";
const LONE_SURROGATE = /[\uD800-\uDFFF]/u; // with the u flag only unpaired halves match

/** %g of Python's format spec, for the signature (6 significant digits, no trailing zeros). */
function g(x) {
  return String(Number(x.toPrecision(6)));
}

function mean(xs) {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Everything one record went through (Scorer.trace), as Python's Trace. */
class InFlight {
  constructor(source, summary) {
    this.source = source;
    this.summary = summary;
    this.source_encoded = null;
    this.summary_encoded = null;
    this.hypotheses = [];
    this.span_valid = [];
    this.selected = [];
    this.logp_summary = [];
    this.result = null;
    this.coverage = []; // the verdict mode's coverage pairs (CoverageTargets), in order
    this.coverage_logp_summary = [];
  }
}

/** The pair with its question and answer as the summary writes them (quals.readable); numbers unchanged. */
function forPeople(pair, summary) {
  const [question, answer] = pairText(pair.question, pair.answer, summary);
  return new PairScore({ ...pair, question, answer });
}

export class Scorer {
  constructor(bundle, engine, codec, options, { provider = "cpu", ortVersion = "?", calibration = null } = {}) {
    this.bundle = bundle;
    this.manifest = bundle.manifest;
    this.engine = engine;
    this.codec = codec;
    this.options = options;
    this.provider = provider;
    this.ortVersion = ortVersion;
    // the verdict mode's calibration (null: off, or the bundle has none; the verdict fields stay null)
    this.calibration = calibration;
    const t = this.manifest.tokens;
    this.ignore = new Set([...this.manifest.ans_lm_ignore_ids, ...[t.eos, t.bos].filter((x) => x !== null)]);
  }

  /**
   * Load and check a bundle from a file store and make its sessions (the environment's entry point, src/node.js
   * or src/web.js, supplies `ort`, the store and how a role becomes a session source).
   * overrides: option fields by their Python names (search, num_beams, variant, max_pairs...). verdicts: false
   * ignores the bundle's calibration.json (Python's QualsOptions.verdicts).
   */
  static async open(ort, store, { threads = null, verify = true, options = null, verdicts = true, executionProviders, modelSource, provider, ...overrides }) {
    const bundle = await loadBundle(store, { verify });
    const calibration = verdicts ? await loadCalibration(store, bundle.digest) : null;
    const m = bundle.manifest;
    const tokenizerName = m.files.tokenizer;
    let tokenizerJson;
    try {
      tokenizerJson = JSON.parse(new TextDecoder("utf-8").decode(await store.read(tokenizerName)));
    } catch (exc) {
      throw new BundleError(`${store.location(tokenizerName)}: cannot load tokenizer (${exc.message})`);
    }
    const codec = new TextCodec(tokenizerJson, m.tokens, m.encoding, store.location(tokenizerName));
    const opts = defaultOptions(m, options, overrides);
    const engine = await Engine.create(ort, bundle, { threads, executionProviders, modelSource: (role) => modelSource(bundle, role) });
    const ortVersion = ort.env?.versions?.common ?? "?";
    return new Scorer(bundle, engine, codec, opts, { provider, ortVersion, calibration });
  }

  /** A scorer sharing this one's sessions, with other options (overrides by their Python names). */
  withOptions(overrides, base = null) {
    const opts = defaultOptions(this.manifest, base, overrides);
    return new Scorer(this.bundle, this.engine, this.codec, opts, { provider: this.provider, ortVersion: this.ortVersion,
      calibration: this.calibration });
  }

  async close() {
    await this.engine.release();
  }

  // -- text ------------------------------------------------------------------------------------------
  textIds(text) {
    return this.codec.textIds(text);
  }

  decode(ids) {
    return this.codec.decode(ids);
  }

  // -- generation ------------------------------------------------------------------------------------
  async search(enc, opts) {
    const t = this.manifest.tokens;
    const state = this.engine.start(enc, opts.num_beams);
    return runSearch((tokens, parents) => state.step(tokens, parents), opts, { decoder_start: t.decoder_start, eos: t.eos, pad: t.pad });
  }

  /** Hypotheses of the search on `text` (stripped, encoded as the manifest says), each with its text. */
  async generate(text, overrides = {}) {
    const opts = Object.keys(overrides).length ? this.options.search.with(overrides) : this.options.search;
    text = pyStrip(text);
    if (!text) throw new InputError("text is empty");
    const enc = await this.engine.encode(this.codec.encode(text, this.options.max_source_tokens).ids);
    const hyps = await this.search(enc, opts);
    for (const h of hyps) h.text = this.hypothesisText(h, text);
    return hyps;
  }

  /** A hypothesis for people: "question -> answer" cased as `text` writes them, else its tokens decoded. */
  hypothesisText(h, text) {
    const m = this.manifest;
    const pair = parse(h, { sep_id: m.separator.id, eos_id: m.tokens.eos, decode: (ids) => this.codec.decode(ids) });
    if (pair === null) return this.codec.decode(h.tokens);
    const [question, answer] = pairText(pair.question, pair.answer, text);
    return `${question} -> ${answer}`;
  }

  // -- scoring ---------------------------------------------------------------------------------------
  /** One Result per (source, summary), in order. `progress(n)` is called as summaries finish. */
  async score(sources, summaries, { progress = null } = {}) {
    for (const [name, arg] of [["sources", sources], ["summaries", summaries]]) {
      if (typeof arg === "string") {
        throw new InputError(`${name} must be an iterable of strings, not one string (it would be scored character by ` +
          "character); use scoreOne(source, summary) or score([source], [summary])");
      }
    }
    sources = [...sources];
    summaries = [...summaries];
    if (sources.length !== summaries.length) throw new InputError(`${sources.length} sources but ${summaries.length} summaries`);
    const works = await this.run(sources.map((s, i) => [s, summaries[i]]), progress);
    return works.map((w) => w.result);
  }

  async scoreOne(source, summary) {
    return (await this.score([source], [summary]))[0];
  }

  /** One record through the same steps as `score`, with what each step produced (hypotheses, span_valid...). */
  async trace(source, summary) {
    return (await this.run([[source, summary]], null))[0];
  }

  async run(records, progress) {
    const works = records.map(([src, summ]) => this.prepare(src, summ));
    for (const w of works) {
      if (w.result === null) await this.guard([w], () => this.generatePairs(w));
      if (progress) progress(1);
    }
    const bySource = new Map();
    for (const w of works) {
      if (w.result !== null) continue;
      if (!bySource.has(w.source)) bySource.set(w.source, []);
      bySource.get(w.source).push(w);
    }
    for (const group of bySource.values()) await this.guard(group, () => this.rescoreOnSource(group));
    return works;
  }

  prepare(source, summary) {
    const w = new InFlight(typeof source === "string" ? source : "", typeof summary === "string" ? summary : "");
    const v = this.options.variant;
    if (typeof source !== "string" || typeof summary !== "string") {
      w.result = errorResult("source and summary must be strings", v);
    } else if (!pyStrip(summary)) {
      w.result = errorResult("summary is empty", v);
    } else if (!pyStrip(source)) {
      w.result = errorResult("source is empty", v);
    } else {
      const bad = [["summary", summary], ["source", source]].find(([, t]) => LONE_SURROGATE.test(t));
      if (bad) {
        w.result = errorResult(`${bad[0]} holds a lone surrogate (U+D800-U+DFFF, e.g. from a JSON escape like \\udcff): ` +
          "not text any tokenizer can encode", v);
      } else {
        w.source = pyStrip(source);
        w.summary = pyStrip(summary);
      }
    }
    return w;
  }

  /** Run `fn`; an exception becomes the error result of every record of `group` not yet scored. */
  async guard(group, fn) {
    try {
      await fn();
    } catch (exc) {
      const message = exc instanceof Error ? `${exc.name}: ${exc.message}` : `Error: ${exc}`;
      for (const w of group) if (w.result === null) w.result = errorResult(message, this.options.variant);
    }
  }

  async generatePairs(w) {
    const m = this.manifest;
    w.summary_encoded = this.codec.encode(w.summary, this.options.max_source_tokens);
    const enc = await this.engine.encode(w.summary_encoded.ids);
    w.hypotheses = await this.search(enc, this.options.search);
    const decode = (ids) => this.codec.decode(ids);
    const view = this.codec.roundtrip(w.summary);
    w.span_valid = w.hypotheses
      .map((h) => parse(h, { sep_id: m.separator.id, eos_id: m.tokens.eos, decode }))
      .filter((p) => p !== null && answerInSummary(p.answer, w.summary, view));
    w.selected = select(w.span_valid, this.options.max_pairs);
    if (!w.selected.length) {
      w.result = this.makeResult(w, []);
      return;
    }
    w.logp_summary = await this.engine.teacherForced(enc, w.selected.map((p) => p.tokens), { maxRows: this.options.rescore_rows });
    if (this.calibration !== null) {
      w.coverage = coverageTargets(w.summary, w.selected.map((p) => p.answer), this.codec, m.separator.id, this.calibration.common_words);
      if (w.coverage.length) { // calls of their own: the selected pairs' calls stay as they were
        w.coverage_logp_summary = await this.engine.teacherForced(enc, w.coverage.map((c) => c.tokens), { maxRows: this.options.rescore_rows });
      }
    }
  }

  async rescoreOnSource(group) {
    const w0 = group[0];
    w0.source_encoded = this.codec.encode(w0.source, this.options.max_source_tokens);
    const enc = await this.engine.encode(w0.source_encoded.ids);
    for (const w of group) {
      // each record's pairs in their own decoder passes, never mixed with another record's (docs/hosts.md §2)
      const logps = await this.engine.teacherForced(enc, w.selected.map((p) => p.tokens), { maxRows: this.options.rescore_rows });
      w.source_encoded = w0.source_encoded;
      const scored = w.selected.map((p, i) => forPeople(pairScore(p, logps[i], w.logp_summary[i], this.options.variant,
        this.ignore), w.summary));
      let coverage = [];
      if (w.coverage.length) {
        const covLogps = await this.engine.teacherForced(enc, w.coverage.map((c) => c.tokens), { maxRows: this.options.rescore_rows });
        coverage = w.coverage.map((c, i) => this.coverageScore(c, covLogps[i], w.coverage_logp_summary[i]));
      }
      const result = this.makeResult(w, scored);
      result.coverage = coverage;
      w.result = this.judged(w, result);
    }
  }

  /**
   * A coverage pair as a PairScore: no search wrote it, so its summary side is the teacher-forced one (the clean
   * variant's term; search_scores holds the same log-probs). answer_index: after the separator, before the final
   * EOS, not an ignored id.
   */
  coverageScore(c, logpSource, logpSummary) {
    const src = Array.from(logpSource);
    const summ = Array.from(logpSummary);
    const idx = [];
    for (let i = c.sep_index + 1; i < c.tokens.length - 1; i++) if (!this.ignore.has(c.tokens[i])) idx.push(i);
    const s_x = mean(src);
    const s_y = mean(summ);
    return new PairScore({
      question: c.question, answer: c.answer, tokens: c.tokens, logp_source: src, logp_summary: summ, search_scores: summ.slice(),
      s_x, s_y, value: s_x - s_y, answer_index: idx,
    });
  }

  /** `result` with the verdict mode's fields, when the scorer has a calibration: selected and coverage pairs judged together. */
  judged(w, result) {
    if (this.calibration === null || !result.pairs.length) return result;
    const all = [...result.pairs, ...result.coverage];
    const judgement = this.calibration.judge(this.evidence(w, all));
    const judged = all.map((s, i) => new PairScore({ ...s, ...judgement.pairs[i] }));
    const n = result.pairs.length;
    result.pairs = judged.slice(0, n);
    result.coverage = judged.slice(n);
    // spans in the stripped summary, in code points: a selected pair's (readable) answer, a coverage pair's fact
    const spans = [...result.pairs.map((s) => answerSpan(s.answer, w.summary)), ...w.coverage.map((c) => [c.fact.start, c.fact.end])];
    result.verdict = judgement.verdict;
    result.p_consistent = judgement.p_consistent;
    result.unsupported = judged.flatMap((s, i) => (s.verdict === "unsupported" ? [{ question: s.question, answer: s.answer, span: spans[i] }] : []));
    return result;
  }

  /**
   * What the verdict mode reads of each of `scores` (the record's selected pairs' then its coverage pairs'): a
   * selected pair's answer text is its answer tokens decoded, a coverage pair's the fact as written; lower-cased.
   */
  evidence(w, scores) {
    const source = SourceText.of(w.source, this.codec.roundtrip(w.source));
    const seps = [...w.selected.map((p) => p.sep_index), ...w.coverage.map((c) => c.sep_index)];
    const answers = [
      ...w.selected.map((p) => this.codec.decode(p.tokens.slice(...p.answer_slice))),
      ...w.coverage.map((c) => c.answer),
    ];
    return scores.map((s, i) => new PairEvidence({
      logp_source: s.logp_source, logp_summary: s.logp_summary, search_scores: s.search_scores,
      question_index: Array.from({ length: seps[i] }, (_, k) => k), answer_index: s.answer_index,
      answer: answers[i].toLowerCase(), source,
    }));
  }

  makeResult(w, pairs) {
    if (w.source_encoded === null) w.source_encoded = this.codec.encode(w.source, this.options.max_source_tokens);
    const src = w.source_encoded;
    const summ = w.summary_encoded;
    return new Result({
      quals: quals(pairs),
      status: pairs.length ? STATUS_OK : STATUS_NO_PAIRS,
      n_pairs: pairs.length,
      variant: this.options.variant,
      n_hypotheses: w.hypotheses.length,
      n_span_valid: w.span_valid.length,
      source_tokens: src.n_text_tokens,
      source_truncated: src.truncated,
      summary_tokens: summ ? summ.n_text_tokens : 0,
      summary_truncated: Boolean(summ && summ.truncated),
      pairs,
    });
  }

  /** Text tokens kept from a source (and a summary): the option, else the bundle's limit. */
  get source_limit() {
    return this.options.max_source_tokens ?? this.manifest.encoding.max_source_tokens;
  }

  /** Every knob that changes the number, as Python's signature, then the runtime and this host. */
  signature() {
    const s = this.options.search;
    const o = this.options;
    const parts = [
      "quals", `bundle:${this.bundle.digest.slice(0, 12)}`, `search:${s.search}`, `beams:${s.num_beams}`, `groups:${s.num_groups}`,
      `div:${g(s.diversity)}`, `len:${s.min_length}-${s.max_length}`, `lp:${g(s.length_penalty)}`,
    ];
    if (s.search === "hf") parts.push(`ret:${s.returned}`, `es:${String(s.early_stopping).toLowerCase()}`);
    parts.push(`variant:${o.variant}`, `pairs:${o.max_pairs}`, `src:${this.source_limit}`);
    if (this.calibration !== null) parts.push(`cal:${this.calibration.id.slice(0, 12)}`); // the verdicts' calibration
    parts.push(`ep:${this.provider}`, `ort:${this.ortVersion}`, `version:${VERSION}`, "host:js");
    return parts.join("|");
  }
}
