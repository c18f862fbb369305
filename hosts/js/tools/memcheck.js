#!/usr/bin/env node
// Scores many records in one process (both searches; the hf search changes its row count as groups finish) and
// checks that resident memory stays flat: RSS (after a full GC) is read every 25 records from record 100 on, and
// the median of the last three readings may exceed the median of the first three by at most the margin (medians:
// V8's heap sizing moves a single reading by several MB). Run with --expose-gc.
//
//   node --expose-gc tools/memcheck.js [--model BUNDLE] [--records 300] [--margin-mb 20]
import { loadScorer } from "../src/node.js";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const model = opt("--model", "build/test-bundles/v7/bundle-bart");
const records = Number(opt("--records", 300));
const marginMb = Number(opt("--margin-mb", 20));

const src = "The city council of Riverton voted 7 to 2 on Tuesday to build a new bridge over the Marlow river. " +
  "The bridge will cost 48 million dollars and should open in 2029, said mayor Helen Okafor. " +
  "Construction will be led by Brandt Engineering, a firm based in Hamburg. " +
  "Opponents argued that the money should go to schools instead.";
const pairs = [
  [src, "Riverton will build a 48 million dollar bridge over the Marlow river, opening in 2029."],
  [src, "The bridge costs 48 million dollars."],
  [src, "The new bridge over the Marlow river should open in 2029"],
  ["Zoë Müller from São Paulo won the €1,200 prize in Tōkyō (東京).", "Zoë Müller won €1,200 in Tōkyō (東京) 🎉"],
  [src, "   "],
];

const rssMb = () => {
  globalThis.gc?.();
  return process.memoryUsage().rss / 2 ** 20;
};

const t0 = performance.now();
const fairseq = await loadScorer(model, { threads: 1 });
const hf = fairseq.withOptions({ search: "hf" });
let ok = 0;
const readings = [];
for (let i = 1; i <= records; i++) {
  const [s, y] = pairs[i % pairs.length];
  const r = await (Math.floor(i / pairs.length) % 2 === 0 ? fairseq : hf).scoreOne(s, y);
  if (r.status === "ok") ok++;
  if (i >= Math.min(100, records) && (i - 100) % 25 === 0) readings.push(rssMb());
}
readings.push(rssMb());
const median3 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rss100 = median3(readings.slice(0, 3));
const rssEnd = median3(readings.slice(-3));
await fairseq.close();
const growth = rssEnd - rss100;
const pass = growth <= marginMb && globalThis.gc !== undefined;
console.log(JSON.stringify({
  memcheck: pass ? "pass" : "FAIL", model, records, ok, gc: globalThis.gc !== undefined, rss_mb_first: +rss100.toFixed(1),
  rss_mb_last: +rssEnd.toFixed(1), readings: readings.length, growth_mb: +growth.toFixed(1), margin_mb: marginMb,
  seconds: +((performance.now() - t0) / 1000).toFixed(1),
}));
process.exitCode = pass ? 0 : 1;
