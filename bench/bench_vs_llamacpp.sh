#!/usr/bin/env bash
# `anatomy bench` and llama.cpp (node-llama-cpp) on the same GGUF files, alternating rounds: a
# Llama-3.2-1B-shaped model (vocab 32000, synthetic weights written by `anatomy convert`) in f32
# and f16, 2 threads, prefill T=128 and 16 decode steps; medians after warm-up. Then anatomy alone
# on zamba2-1.2b (llama.cpp has no Zamba2) and on seed 000's encoder-decoder workload.
# usage: bench/bench_vs_llamacpp.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
source bench/llama1b_gguf.sh
source bench/isa_limits.sh
echo "CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'); ISA cap: ${ANATOMY_CPU_ISA:-none}"
for r in $(seq "$rounds"); do
  echo "round $r"
  for dt in f32 f16; do
    build/anatomy bench "$data/llama1b-$dt.gguf" -p 128 -n 16 -r 3 --warmup 1 --threads 2 --format json |
      python3 -c "import json,sys; d=json.load(sys.stdin); p=d['prefill'][0]; g=d['decode']
print(f\"| anatomy bench llama1b-$dt.gguf | prefill T=128: {p['time']['median_s']:.2f} s, {p['tok_per_s']:.1f} tok/s | decode: {g['latency_median_ms']:.1f} ms/token, {g['tok_per_s']:.2f} tok/s |\")"
    node bench/peers/llamacpp_bench.mjs "$data/llama1b-$dt.gguf" 2 128 16
  done
done
echo "anatomy alone:"
build/anatomy bench zamba2-1.2b --random-weights -p 35,128 -n 16 -r 3 --threads 2 | head -5
build/anatomy bench transformer-encdec-seed --random-weights -p 32 -n 32 -r 5 --workload 32,32,1 --threads 2
