#!/usr/bin/env bash
# Side-by-side forward benchmark on a Llama-3.2-1B-shaped model (vocab 32000, synthetic weights,
# 2 threads): anatomy (f32, bf16), PyTorch 1.13 eager (f32) and llama.cpp (f32, f16 GGUF written by
# `anatomy convert`), each prefill T=128 and single-token decode, medians after warm-up; anatomy's
# decode set against the read probe run after each step (bench/forward.cpp), and Zamba2-1.2B's bf16
# prefill at T=35 (`anatomy bench`, median of 5). Rounds alternate the engines so that machine noise
# hits all of them. usage: bench/run_peers.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
source bench/llama1b_gguf.sh
source bench/isa_limits.sh
for r in $(seq "$rounds"); do
  echo "round $r"
  build/bench/bench_forward 2 128 16 llama-3.2-1b both | grep '^|'
  build/anatomy bench zamba2-1.2b --random-weights -p 35 -n 0 -r 5 --threads 2 --format json 2>/dev/null |
    /usr/bin/python3 -c "import json,sys; p=json.load(sys.stdin)['prefill'][0]; print(f\"| zamba2-1.2b BF16 | prefill T=35: {p['time']['median_s']*1e3:.1f} ms (median of 5) |\")"
  OMP_NUM_THREADS=2 /usr/bin/python3 bench/peers/torch_llama.py 2 128 16
  for dt in f32 f16; do node bench/peers/llamacpp_bench.mjs "$data/llama1b-$dt.gguf" 2 128 16; done
done
