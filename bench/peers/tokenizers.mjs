// The peers of bench/tokenizers.sh, single-threaded: Hugging Face's Rust tokenizers (native npm
// build; one encode call at a time, so one thread works) on a tokenizer.json, and tiktoken (WASM
// build of OpenAI's tokenizer) on its own encodings. One warm-up pass, then the median of
// `repeat` passes; the text as one string and line by line. One JSON object per line.
// usage: node tokenizers.mjs TEXT REPEAT (hf:TOKENIZER.json | tiktoken:ENCODING) ...
import {readFileSync} from "node:fs";
import {createRequire} from "node:module";

const require = createRequire(new URL("../../tests/tokenizers/package.json", import.meta.url));
const {Tokenizer} = require("@anush008/tokenizers");
const {get_encoding} = require("tiktoken");

const [textPath, repeatText, ...engines] = process.argv.slice(2);
const repeat = Number(repeatText);
const text = readFileSync(textPath).toString("utf8");
const bytes = Buffer.byteLength(text, "utf8");
const lines = text.split("\n");
if (text.endsWith("\n")) lines.pop();

async function timed(encode, pieces) {
  const t0 = process.hrtime.bigint();
  let tokens = 0;
  for (const p of pieces) tokens += (await encode(p)).length;
  return [Number(process.hrtime.bigint() - t0) / 1e9, tokens];
}

for (const engine of engines) {
  const [kind, ...rest] = engine.split(":");
  const name = rest.join(":");
  let encode;
  if (kind === "hf") {
    const tok = Tokenizer.fromFile(name);
    encode = async (s) => (await tok.encode(s, null, {addSpecialTokens: false})).getIds();
  } else {
    const enc = get_encoding(name);
    encode = async (s) => enc.encode(s, "all");
  }
  for (const mode of ["whole", "lines"]) {
    const pieces = mode === "whole" ? [text] : lines;
    await timed(encode, pieces);  // warm-up
    const times = [];
    let tokens = 0;
    for (let r = 0; r < repeat; ++r) {
      const [t, n] = await timed(encode, pieces);
      times.push(t);
      tokens = n;
    }
    times.sort((a, b) => a - b);
    const mb = bytes / 1e6;
    console.log(JSON.stringify({impl: kind === "hf" ? "hf-tokenizers (Rust, npm)" : "tiktoken (WASM)", tokenizer: name, mode, bytes, tokens,
                                median_mb_s: mb / times[Math.floor(times.length / 2)], min_mb_s: mb / times[times.length - 1],
                                max_mb_s: mb / times[0], repeat}));
  }
}
