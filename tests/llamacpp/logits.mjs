// Evaluates token ids with llama.cpp (prebuilt, CPU) and prints the next-token logits of the
// last position as JSON. F32 KV cache and no flash attention, for an exact comparison.
// usage: node logits.mjs MODEL.gguf 1,2,3
import {getLlama} from "node-llama-cpp";

const [modelPath, idsText] = process.argv.slice(2);
const ids = idsText.split(",").map(Number);
const llama = await getLlama({build: "never", gpu: false, logLevel: process.env.LLAMA_LOG ?? "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({
  contextSize: 64, batchSize: 64, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});
const sequence = context.getSequence();
const input = ids.map((id, i) => i === ids.length - 1 ? [id, {generateNext: {logits: true}}] : id);
const out = await sequence.controlledEvaluate(input);
const logits = out[ids.length - 1].next.logits;
const dense = new Array(model.tokens.ggufVocabularySize ?? logits.size).fill(null);
for (const [token, value] of logits) dense[token] = value;
console.log(JSON.stringify({vocab: dense.length, logits: dense}));
await context.dispose();
await model.dispose();
