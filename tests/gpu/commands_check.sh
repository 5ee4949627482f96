#!/bin/bash
# generate, eval and bench with --device cuda against --device cpu on the same GGUF (GPT-2 shape,
# synthetic weights, the placeholder vocabulary): greedy ids equal (the GPU's steps replayed from
# a recorded CUDA graph), perplexity within 1e-4 relative. usage: commands_check.sh ANATOMY WORKDIR
set -eu
A=$1 W=$2
mkdir -p "$W"
"$A" convert gpt2 --random-weights --scale 0.1 --gguf "$W/g.gguf" > /dev/null
for d in cpu cuda; do
  "$A" generate "$W/g.gguf" --prompt "The quick brown fox" --temperature 0 --max-new-tokens 24 --format json --device $d > "$W/gen_$d.json"
  "$A" eval "$W/g.gguf" --text "$(dirname "$0")/../../README.md" --ctx 128 --chunks 4 --format json --device $d > "$W/eval_$d.json"
done
"$A" bench "$W/g.gguf" --device cuda -p 64 -n 16 --repeat 3 > "$W/bench.txt" && tail -4 "$W/bench.txt"
python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
g = {d: json.load(open(f"{w}/gen_{d}.json")) for d in ("cpu", "cuda")}
e = {d: json.load(open(f"{w}/eval_{d}.json")) for d in ("cpu", "cuda")}
ids = {d: g[d]["ids"] if "ids" in g[d] else g[d]["generated_ids"] for d in g}
same = ids["cpu"] == ids["cuda"]
rel = abs(e["cuda"]["ppl"] - e["cpu"]["ppl"]) / e["cpu"]["ppl"]
print(f"generate greedy ids equal on cpu and cuda: {same} ({len(ids['cpu'])} tokens)")
graph = "CUDA graph" in g["cuda"]["launch"]
print(f"generate on cuda: {g['cuda']['launch']}")
print(f"eval ppl cpu {e['cpu']['ppl']:.6f} cuda {e['cuda']['ppl']:.6f} relative difference {rel:.2e} (limit 1e-4)")
sys.exit(0 if same and graph and rel <= 1e-4 else 1)
PY
