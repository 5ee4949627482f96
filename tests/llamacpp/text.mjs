// llama.cpp (node-llama-cpp, CPU, F32 KV cache, no flash attention) as the reference for eval and
// generate, on a GGUF file:
//   nll WINDOWS.json — for each window {ids, from}, a fresh sequence; the summed negative
//     log-likelihood of ids[p+1] under the logits at p, for p from `from` on; prints {nll, count}.
//   greedy IDS N — N greedy steps after the prompt ids; prints {ids, margins} (top-1 minus top-2
//     logit at each step).
import {readFileSync} from "node:fs";
import {getLlama} from "node-llama-cpp";

const [mode, modelPath, arg, steps] = process.argv.slice(2);
const llama = await getLlama({build: "never", gpu: false, logLevel: process.env.LLAMA_LOG ?? "error"});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const context = await model.createContext({
  contextSize: 256, batchSize: 256, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});

function dense(logits) {
  const out = new Float64Array(model.tokens.ggufVocabularySize ?? logits.size);
  for (const [token, value] of logits) out[token] = value;
  return out;
}

if (mode === "nll") {
  let nll = 0, count = 0;
  const sequence = context.getSequence();
  for (const {ids, from} of JSON.parse(readFileSync(arg, "utf8"))) {
    await sequence.clearHistory();
    const out = await sequence.controlledEvaluate(ids.map((id, p) => p >= from && p + 1 < ids.length ? [id, {generateNext: {logits: true}}] : id));
    for (let p = from; p + 1 < ids.length; ++p) {
      const z = dense(out[p].next.logits);
      let mx = -Infinity;
      for (const v of z) mx = Math.max(mx, v);
      let sum = 0;
      for (const v of z) sum += Math.exp(v - mx);
      nll += mx + Math.log(sum) - z[ids[p + 1]];
      ++count;
    }
  }
  console.log(JSON.stringify({nll, count}));
} else {
  const sequence = context.getSequence();
  let feed = arg.split(",").map(Number);
  const ids = [], margins = [];
  for (let s = 0; s < Number(steps); ++s) {
    const out = await sequence.controlledEvaluate(feed.map((id, i) => i === feed.length - 1 ? [id, {generateNext: {logits: true}}] : id));
    const z = dense(out[feed.length - 1].next.logits);
    let best = 0, second = -1;
    for (let v = 1; v < z.length; ++v) {
      if (z[v] > z[best]) { second = best; best = v; } else if (second < 0 || z[v] > z[second]) second = v;
    }
    ids.push(best);
    margins.push(z[best] - z[second]);
    feed = [best];
  }
  console.log(JSON.stringify({ids, margins}));
}
await context.dispose();
await model.dispose();
