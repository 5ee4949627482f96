// Hugging Face's Rust tokenizers (native npm build @anush008/tokenizers) as the oracle: encodes
// text files with a tokenizer.json and prints, per job, the ids and the decoded text as JSON —
// the whole file as one string, or each line on its own; with or without special tokens.
// usage: node oracle.mjs TOKENIZER.json TEXT_FILE:(whole|lines):(special|plain) ...
import {readFileSync} from "node:fs";
import {Tokenizer} from "@anush008/tokenizers";

const [tokenizerPath, ...jobs] = process.argv.slice(2);
const tok = Tokenizer.fromFile(tokenizerPath);
const results = [];
for (const job of jobs) {
  const parts = job.split(":");
  const special = parts.pop(), mode = parts.pop(), textPath = parts.join(":");
  // Invalid UTF-8 becomes U+FFFD here, maximal subpart by maximal subpart (WHATWG), as anatomy does.
  const text = readFileSync(textPath).toString("utf8");
  let pieces = [text];
  if (mode === "lines") {
    pieces = text.split("\n");
    if (text.endsWith("\n")) pieces.pop();
  }
  const out = [];
  for (const piece of pieces) {
    const enc = await tok.encode(piece, null, {addSpecialTokens: special === "special"});
    const ids = enc.getIds();
    out.push({ids, decoded: await tok.decode(ids, false)});
  }
  results.push(out);
}
process.stdout.write(JSON.stringify(results));
