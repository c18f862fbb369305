// JSON lines as Python's json.dumps(obj, ensure_ascii=False) writes them: ", " and ": " separators, floats in
// repr form (1.0, 1e-05), so that this host's output lines read like `quals score`'s.

// Keys whose numbers are floats in Python even when integral (JavaScript has one number type).
const FLOAT_KEYS = new Set(["quals", "s_x", "s_y", "value", "logp_source", "logp_summary", "search_scores"]);

/** Python's repr of a float: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
export function pyFloat(x) {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const [mantissa, exp] = x.toExponential().split("e"); // shortest digits that round-trip
  const e = Number(exp);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
  const frac = digits.slice(e + 1);
  return `${sign}${whole}.${frac || "0"}`;
}

function dump(v, isFloat) {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return isFloat || !Number.isInteger(v) ? pyFloat(v) : String(v);
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return `[${Array.from(v, (x) => dump(x, isFloat)).join(", ")}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${dump(x, FLOAT_KEYS.has(k))}`).join(", ")}}`;
}

/** One JSONL line, with its newline. */
export function pyJsonLine(obj) {
  return `${dump(obj, false)}\n`;
}
