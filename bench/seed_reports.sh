#!/usr/bin/env bash
# The seed reports at full size, in the seeds' languages (the tests shrink seed 002's layer count):
# 002 NVIDIA-Nemotron-Nano-9B-v2 at 61 tokens (ru; ~18 GB of bf16 synthetic weights: --force where
# the memory guard refuses), 003 Zamba2-1.2B at 35 tokens (ru), 004 Llama 3.2 3B (zh-TW), and GPT-2
# in English. usage: bench/seed_reports.sh [OUT] [extra report options]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/seed-reports}
shift || true
build/anatomy report nemotron-nano-9b-v2 --tokens 61 --lang ru --html --out "$out/002" "$@"
build/anatomy report zamba2-1.2b --tokens 35 --lang ru --html --out "$out/003" "$@"
build/anatomy report llama-3.2-3b --tokens 128 --lang zh-TW --html --out "$out/004" "$@"
build/anatomy report gpt2 --tokens 128 --html --out "$out/gpt2" "$@"
echo "reports in $out/{002,003,004,gpt2}"
