// A bundle served over HTTP (the page's own origin), as a file store for loadBundle (see src/bundle.js).
// Each file is fetched once: the bytes that were hashed are the bytes the sessions are made from.
import { sha256Hex } from "./bundle.js";

export class UrlStore {
  constructor(baseUrl, { fetch: fetchFn = globalThis.fetch.bind(globalThis), progress = null } = {}) {
    const base = new URL(String(baseUrl), globalThis.location?.href);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.root = base.href;
    this.fetch = fetchFn;
    this.progress = progress; // progress(name, bytesSoFar, totalOrNull)
    this.cache = new Map();
  }

  location(name) {
    return new URL(name, this.root).href;
  }

  async exists() {
    return true; // a URL has no directory to look at: a missing bundle shows as a missing quals.json
  }

  async has(name) {
    return (await this.read(name)) !== null;
  }

  async read(name) {
    if (!this.cache.has(name)) this.cache.set(name, this._download(name));
    return this.cache.get(name);
  }

  async _download(name) {
    const response = await this.fetch(this.location(name));
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`${this.location(name)}: HTTP ${response.status}`);
    if (!this.progress || !response.body) return new Uint8Array(await response.arrayBuffer());
    const total = Number(response.headers.get("content-length")) || null;
    const parts = [];
    let got = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      got += value.length;
      this.progress(name, got, total);
    }
    const out = new Uint8Array(got);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  async sha256(name) {
    const bytes = await this.read(name);
    return bytes === null ? null : sha256Hex(bytes);
  }
}
