// Hugging Face's Rust tokenizers (native npm build @anush008/tokenizers) as the oracle: encodes a
// text file with a tokenizer.json and prints the ids as JSON — the whole file as one string, or
// each line on its own — and the decoded text of those ids.
// usage: node oracle.mjs TOKENIZER.json TEXT_FILE (whole|lines) (special|plain)
import {readFileSync} from "node:fs";
import {Tokenizer} from "@anush008/tokenizers";

const [tokenizerPath, textPath, mode, special] = process.argv.slice(2);
const tok = Tokenizer.fromFile(tokenizerPath);
// Invalid UTF-8 becomes U+FFFD here, maximal subpart by maximal subpart (WHATWG), as anatomy does.
const text = readFileSync(textPath).toString("utf8");
let pieces = [text];
if (mode === "lines") {
  pieces = text.split("\n");
  if (text.endsWith("\n")) pieces.pop();
}
const addSpecialTokens = special === "special";
const out = [];
for (const piece of pieces) {
  const enc = await tok.encode(piece, null, {addSpecialTokens});
  const ids = enc.getIds();
  out.push({ids, decoded: await tok.decode(ids, false)});
}
process.stdout.write(JSON.stringify(out));
