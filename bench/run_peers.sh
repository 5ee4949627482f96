#!/usr/bin/env bash
# Side-by-side forward benchmark on a Llama-3.2-1B-shaped model (vocab 32000, synthetic weights,
# 2 threads): anatomy (f32, bf16), PyTorch 1.13 eager (f32) and llama.cpp (f32, f16 GGUF written by
# `anatomy convert`), each prefill T=128 and single-token decode, medians after warm-up.
# Rounds alternate the engines so that machine noise hits all of them. usage: bench/run_peers.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
source bench/llama1b_gguf.sh
source bench/isa_limits.sh
for r in $(seq "$rounds"); do
  echo "round $r"
  build/bench/bench_forward 2 128 16 llama-3.2-1b both | grep '^|'
  OMP_NUM_THREADS=2 /usr/bin/python3 bench/peers/torch_llama.py 2 128 16
  for dt in f32 f16; do node bench/peers/llamacpp_bench.mjs "$data/llama1b-$dt.gguf" 2 128 16; done
done
