// A bundle directory on disk, as a file store for loadBundle (see src/bundle.js).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { BundleError } from "./errors.js";

async function isFile(p) {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export class DirectoryStore {
  constructor(dir) {
    this.root = String(dir);
    this.dir = path.resolve(String(dir));
  }

  location(name) {
    return path.join(this.root, name);
  }

  /** The absolute path of a file: ONNX Runtime opens model files itself, and their external data next to them. */
  path(name) {
    return path.join(this.dir, name);
  }

  async exists() {
    let s;
    try {
      s = await stat(this.dir);
    } catch {
      return false;
    }
    if (!s.isDirectory()) throw new BundleError(`model bundle must be a directory: ${this.root}`);
    return true;
  }

  async has(name) {
    return isFile(this.path(name));
  }

  async read(name) {
    if (!(await this.has(name))) return null;
    return new Uint8Array(await readFile(this.path(name)));
  }

  async sha256(name) {
    if (!(await this.has(name))) return null;
    const h = createHash("sha256");
    for await (const chunk of createReadStream(this.path(name), { highWaterMark: 1 << 20 })) h.update(chunk);
    return h.digest("hex");
  }
}
