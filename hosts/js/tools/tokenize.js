#!/usr/bin/env node
// Tokenizes and decodes with a bundle's tokenizer, for tools/compare_tokenizer.py.
//   node tools/tokenize.js BUNDLE REQUEST.json   (request: {"texts": [...], "ids": [[...]]}) -> {"ids": [...], "decoded": [...]}
import { readFileSync } from "node:fs";
import path from "node:path";
import { TextCodec } from "../src/text.js";

const [bundle, request] = process.argv.slice(2);
const manifest = JSON.parse(readFileSync(path.join(bundle, "quals.json"), "utf-8"));
const tokenizer = JSON.parse(readFileSync(path.join(bundle, manifest.files.tokenizer), "utf-8"));
const codec = new TextCodec(tokenizer, manifest.tokens, manifest.encoding);
const req = JSON.parse(readFileSync(request, "utf-8"));
process.stdout.write(JSON.stringify({ ids: req.texts.map((t) => codec.textIds(t)), decoded: req.ids.map((ids) => codec.decode(ids)) }));
