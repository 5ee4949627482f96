#!/usr/bin/env bash
# Training speed against PyTorch 1.13 (Debian's python3-torch) on the same GPT shapes, 2 threads,
# median step time after the warm-up steps (anatomy: tokens_per_s of log.jsonl; the step time
# covers forward, backward and the optimizer, as the PyTorch loop times it). Shapes: seed 001's
# char-level nanoGPT (4 layers, 64 wide, block 32, batch 32, vocabulary 65, SGD), a wider one
# (6 layers, 256 wide, block 128, batch 16, AdamW) and GPT-2 small (12 layers, 768 wide, vocabulary
# 50257, batch 4 × 256, AdamW; fewer steps). Rounds alternate the engines. OMP_WAIT_POLICY, when
# set, applies to both (they share libgomp).
# usage: bench/train_peers.sh [rounds] [steps] [all|seed001|gpt2s]  (seed001, gpt2s: that shape alone)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
steps=${2:-60}
gpt2s="12 768 12 256 4 adamw 50257 $((steps / 4))"
case "${3:-all}" in
  seed001) shapes="4 64 4 32 32 sgd 65 $steps" ;;
  gpt2s) shapes="$gpt2s" ;;
  *) shapes="4 64 4 32 32 sgd 65 $steps|6 256 8 128 16 adamw 65 $steps|$gpt2s" ;;
esac
source bench/isa_limits.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 400000 /dev/urandom | base64 -w0 > "$work/data.txt"  # 65 characters, as tiny-shakespeare has
median() {  # of tokens_per_s in log.jsonl after warm-up (as many warm-up steps as the PyTorch loop skips)
  /usr/bin/python3 -c "import json,sys; r=[json.loads(l)['tokens_per_s'] for l in open(sys.argv[1])]; r=sorted(r[min(10, len(r)//2):]); print(f'{r[len(r)//2]:.0f}')" "$1"
}
for r in $(seq "$rounds"); do
  echo "round $r"
  IFS='|' read -ra list <<<"$shapes"
  for shape in "${list[@]}"; do
    read -r L C H T B opt V n <<<"$shape"
    echo "{\"n_layer\": $L, \"n_embd\": $C, \"n_head\": $H, \"block_size\": $T, \"bias\": true, \"vocab_size\": $V}" > "$work/config.json"
    # The data's characters as tokenizer: vocab_size stays as configured (GPT-2's 50257 head).
    # anatomy twice: the default (--parallel auto: shards of the batch per thread) and every op
    # split across the threads, as PyTorch runs.
    for parallel in auto ops; do
      rm -rf "$work/$parallel"
      build/anatomy train --config "$work/config.json" --data "$work/data.txt" --tokenizer "$work/data.txt" --out "$work/$parallel" \
        --steps "$n" --batch "$B" --block "$T" --optimizer "$opt" --eval-every "$n" --eval-iters 1 --threads 2 \
        --parallel "$parallel" >/dev/null 2>&1
    done
    torch=$(OMP_NUM_THREADS=2 /usr/bin/python3 bench/peers/torch_train.py 2 "$L" "$C" "$H" "$T" "$B" "$V" "$opt" "$n")
    echo "| L=$L C=$C T=$T B=$B V=$V $opt | anatomy $(median "$work/auto/log.jsonl") tok/s (ops: $(median "$work/ops/log.jsonl")) | $(echo "$torch" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"{d['engine']} {d['tokens_per_s']:.0f} tok/s\")") |"
  done
done
