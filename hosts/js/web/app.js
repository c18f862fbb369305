// The page: load a bundle from this site, score the pasted source and summary, show the score and the pairs.
//
// Query parameters (all optional): model (the bundle's URL; default: the repository's models/default when the
// repository root is served), source, summary, search, variant, threads (WebAssembly threads; default: up to 4
// when the page is cross-origin isolated, else 1), auto=1 (score on load), report=URL (POST the result as JSON
// there: the headless-browser test's hook).
import { loadScorer, ort } from "../src/web.js";

const DEFAULT_MODEL = "../../../models/default/";
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

const isolated = globalThis.crossOriginIsolated === true;
const threads = params.has("threads") ? Math.max(1, Number(params.get("threads")) || 1) : isolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
ort.env.wasm.numThreads = threads; // more than one needs SharedArrayBuffer, i.e. a cross-origin isolated page

const scorers = new Map(); // bundle URL -> {scorer, seconds}

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

const mb = (n) => (n / 2 ** 20).toFixed(1);

async function getScorer(url) {
  if (!scorers.has(url)) {
    const t0 = performance.now();
    const pending = loadScorer(url, {
      progress: (name, got, total) => status(`Downloading ${name}: ${mb(got)}${total ? ` of ${mb(total)}` : ""} MB…`),
    }).then((scorer) => ({ scorer, seconds: (performance.now() - t0) / 1000 }));
    scorers.set(url, pending);
    pending.catch(() => scorers.delete(url));
  }
  return scorers.get(url);
}

function cell(row, text, cls = "") {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function render(result, scorer) {
  $("result").hidden = false;
  $("score").textContent = result.quals === null ? "no score" : `QUALS ${result.quals.toFixed(4)}`;
  const why = result.status === "ok" ? `${result.n_pairs} question-answer pairs` : result.status === "no_qa_pairs"
    ? "no question-answer pair whose answer is in the summary" : `error: ${result.error}`;
  const cut = [result.source_truncated ? "source" : "", result.summary_truncated ? "summary" : ""].filter(Boolean);
  $("meta").textContent = `${why}; ${result.n_hypotheses} generated, ${result.n_span_valid} with the answer in the summary` +
    (cut.length ? `; ${cut.join(" and ")} cut to ${scorer.source_limit} tokens` : "") + ". Higher is more consistent.";
  const body = $("pairs").tBodies[0];
  body.replaceChildren();
  result.pairs.forEach((p, i) => {
    const row = body.insertRow();
    cell(row, String(i + 1));
    cell(row, p.question);
    cell(row, p.answer);
    cell(row, p.value.toFixed(3), `num${p.value < 0 ? " neg" : ""}`);
    cell(row, p.s_x.toFixed(3), "num");
    cell(row, p.s_y.toFixed(3), "num");
  });
  $("pairs").hidden = result.pairs.length === 0;
  $("signature").textContent = scorer.signature();
}

async function report(doc) {
  $("result-json").textContent = JSON.stringify(doc);
  document.title = doc.error ? "QUALS: error" : "QUALS: done";
  const target = params.get("report");
  if (target) await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(doc) });
}

async function score() {
  $("go").disabled = true;
  try {
    const url = $("model").value.trim() || DEFAULT_MODEL;
    status("Loading the bundle…");
    const { scorer: base, seconds: loadSeconds } = await getScorer(url);
    const scorer = base.withOptions({ search: $("search").value || null, variant: $("variant").value || null });
    status(`Scoring (${threads} thread${threads > 1 ? "s" : ""})…`);
    const t0 = performance.now();
    const result = await scorer.scoreOne($("source").value, $("summary").value);
    const seconds = (performance.now() - t0) / 1000;
    render(result, scorer);
    status(`Scored in ${seconds.toFixed(1)} s (bundle loaded in ${loadSeconds.toFixed(1)} s; ${threads} thread${threads > 1 ? "s" : ""}` +
      `${isolated ? ", cross-origin isolated" : ""}).`);
    await report({ ...result.toDict(true), signature: scorer.signature(), threads, cross_origin_isolated: isolated,
      load_seconds: loadSeconds, score_seconds: seconds });
  } catch (exc) {
    status(`Failed: ${exc.message ?? exc}`, true);
    await report({ error: String(exc.message ?? exc), stack: String(exc.stack ?? "") }).catch(() => {});
  } finally {
    $("go").disabled = false;
  }
}

$("model").value = params.get("model") ?? DEFAULT_MODEL;
$("source").value = params.get("source") ?? "The city council of Lyon approved a budget of 12 million euros for two new bridges on Tuesday. Work starts in March.";
$("summary").value = params.get("summary") ?? "Lyon approved 12 million euros for two bridges.";
if (params.has("search")) $("search").value = params.get("search");
if (params.has("variant")) $("variant").value = params.get("variant");
$("go").addEventListener("click", score);
$("go").disabled = false;
status(`Ready. ${threads} WebAssembly thread${threads > 1 ? "s" : ""}${isolated ? " (cross-origin isolated)" : " (serve with COOP/COEP headers for more)"}.`);
if (params.get("auto") === "1") score();
