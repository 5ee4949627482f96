// Tokenizes a text file with llama.cpp's own tokenizer (node-llama-cpp, the vocabulary of a GGUF
// file only) and prints the ids as JSON: the whole file as one string, or each line on its own.
// Special-token strings in the text are matched, as Hugging Face does; no BOS/EOS is added.
// usage: node tokenize.mjs MODEL.gguf TEXT_FILE (whole|lines)
import {readFileSync} from "node:fs";
import {getLlama} from "node-llama-cpp";

const [modelPath, textPath, mode] = process.argv.slice(2);
const llama = await getLlama({build: "never", gpu: false, logLevel: process.env.LLAMA_LOG ?? "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0, vocabOnly: true});
const text = readFileSync(textPath).toString("utf8");
let pieces = [text];
if (mode === "lines") {
  pieces = text.split("\n");
  if (text.endsWith("\n")) pieces.pop();
}
const out = pieces.map((piece) => ({ids: Array.from(model.tokenize(piece, true))}));
process.stdout.write(JSON.stringify(out));
await model.dispose();
