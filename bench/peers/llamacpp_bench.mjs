// Peer for bench_forward: llama.cpp (prebuilt CPU build inside node-llama-cpp) on a GGUF
// written by `anatomy convert`: prefill of T tokens and single-token decode steps, medians after
// a warm-up. usage: node llamacpp_bench.mjs MODEL.gguf [threads] [T] [steps]
// With $PEER_JSON=FILE the figures are also written there as an anatomy.bench/1 document (the
// subset docs/bench.md describes), which `anatomy compare` reads beside anatomy's own.
import fs from "node:fs";
import os from "node:os";
import {createRequire} from "node:module";
import path from "node:path";
import {fileURLToPath} from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
// $LLAMACPP_DIR (set by bench/isa_limits.sh) holds a copy restricted to AVX2 variants.
const require = createRequire(path.join(process.env.LLAMACPP_DIR ?? path.join(here, "../../tests/llamacpp"), "package.json"));
const {getLlama} = await import(require.resolve("node-llama-cpp"));

const [modelPath, threadsArg = "2", tArg = "128", stepsArg = "16"] = process.argv.slice(2);
const threads = Number(threadsArg), T = Number(tArg), steps = Number(stepsArg);
const llama = await getLlama({build: "never", gpu: false, logLevel: "error", maxThreads: threads});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const prompt = Array.from({length: T}, (_, i) => 3 + (i % 200));

const prefill = [];
for (let r = 0; r < 4; r++) {
  const context = await model.createContext({contextSize: T + steps + 8, batchSize: T, threads, flashAttention: false});
  const seq = context.getSequence();
  const t0 = performance.now();
  await seq.controlledEvaluate(prompt.map((id, i) => (i === T - 1 ? [id, {generateNext: {token: true}}] : id)));
  if (r) prefill.push((performance.now() - t0) / 1e3);
  await context.dispose();
}
const context = await model.createContext({contextSize: T + steps + 8, batchSize: T, threads, flashAttention: false});
const seq = context.getSequence();
await seq.controlledEvaluate(prompt.slice(0, 16).map((id, i) => (i === 15 ? [id, {generateNext: {token: true}}] : id)));
const decode = [];
for (let s = 0; s <= steps; s++) {
  const t0 = performance.now();
  await seq.controlledEvaluate([[5, {generateNext: {token: true}}]]);
  if (s) decode.push((performance.now() - t0) / 1e3);
}
const p = median(prefill), d = median(decode);
console.log(`| llama.cpp (node-llama-cpp 3.22.1) ${path.basename(modelPath)} | prefill T=${T}: ${p.toFixed(2)} s, ` +
            `${(T / p).toFixed(1)} tok/s | decode: ${(d * 1e3).toFixed(1)} ms/token, ${(1 / d).toFixed(2)} tok/s |`);
if (process.env.PEER_JSON) {
  const dtype = /f16/i.test(path.basename(modelPath)) ? "F16" : "F32";
  fs.writeFileSync(process.env.PEER_JSON, JSON.stringify({
    schema: "anatomy.bench/1", engine: "llama.cpp (node-llama-cpp 3.22.1)", model: path.basename(modelPath), dtype, device: "cpu",
    threads, machine: {cpu: os.cpus()[0]?.model ?? "unknown"}, warmup: 1, repeat: prefill.length,
    prefill: [{tokens: T, batch: 1, tok_per_s: T / p, time_to_first_token_s: p}],
    decode: {tokens: steps, batch: 1, tok_per_s: 1 / d, latency_median_ms: d * 1e3}}, null, 2));
}
await context.dispose();
await model.dispose();
