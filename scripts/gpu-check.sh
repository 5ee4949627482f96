#!/bin/bash
# Everything that needs a GPU, run on a GPU machine (H100/H200) in one go, in order of value: the
# CUDA op and model tests, the GPU's ceilings, the benchmarks beside transformers, the host's share
# of a pass (bench_host_share), single ops' GPU time (bench_cuda_ops), generate/eval/bench on the GPU against the CPU, the golden check
# against Hugging Face transformers, and profiles. Needs what scripts/gpu-pack.sh put in .gpu/ (built on
# the development machine), python3 with torch and transformers, and the machine's CUDA libraries.
# Writes its log and JSON to OUT (at most 8 files); the whole run fits in GPU_CHECK_SECONDS
# (default 450): steps run in order of value, and the benchmarks skip what no longer fits.
#
# usage: scripts/gpu-check.sh OUT
#   GPU_CHECK_STEPS="hf_golden bench"  runs only those steps (default: all);
#   HF_FAMILIES="zamba2", BENCH_CASES="nemotron-nano-9b-v2"  narrow those two steps.
set -u
OUT=${1:?usage: scripts/gpu-check.sh OUT}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUDGET=${GPU_CHECK_SECONDS:-450}
START=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - START))); }
mkdir -p "$OUT" /tmp/anatomy-gpu
LOG="$OUT/check.log"
: > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }

# One step: its output goes to the log; its exit status and last lines are shown.
step() {
  local name=$1; shift
  case " ${GPU_CHECK_STEPS:-$name} " in *" $name "*) ;; *) return 0 ;; esac
  say "== $name ($(left) s of the budget left)"
  local t0=$(date +%s)
  if declare -F "$1" > /dev/null; then "$@"; else timeout "$(left)" "$@"; fi > /tmp/anatomy-gpu/$name.log 2>&1
  local rc=$?
  cat /tmp/anatomy-gpu/$name.log >> "$LOG"
  tail -n "${TAIL:-12}" /tmp/anatomy-gpu/$name.log
  say "== $name: exit $rc in $(($(date +%s) - t0)) s"
  return 0
}

tar -C /tmp/anatomy-gpu -xJf "$ROOT/.gpu/lib.tar.xz"
CUBLAS=$(find /usr/local/cuda*/ /usr/local/lib /usr/lib /opt -name 'libcublasLt.so.1[2-9]*' 2>/dev/null | head -1)
CUDART=$(find /usr/local/cuda*/ /usr/local/lib /usr/lib /opt -name 'libcudart.so.1[2-9]*' 2>/dev/null | head -1)
export LD_LIBRARY_PATH="/tmp/anatomy-gpu/lib:$(dirname "${CUBLAS:-/x/x}"):$(dirname "${CUDART:-/x/x}"):${LD_LIBRARY_PATH:-}"
export ANATOMY_CACHE_DIR=/tmp/anatomy-gpu/cache PYTHONUNBUFFERED=1
BIN="$ROOT/.gpu/bin"
say "cuBLASLt: ${CUBLAS:-not found}; cudart: ${CUDART:-not found}"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv >> "$LOG" 2>&1
ldd "$BIN/anatomy" | grep -i "not found" | tee -a "$LOG"

cd "$ROOT"
profile_json() {  # MODEL OUT_NAME ARGS...: the profile as JSON, its forward time and its top types shown
  local model=$1 name=$2; shift 2
  "$BIN/anatomy" profile "$model" --random-weights --device cuda --format json "$@" > "$OUT/$name.json" || return 1
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); t=d['timing']; print('forward median ms', t['forward_ms']['median'], 'instrumented', t['instrumented_ms']['median']); [print(f\"{r['type']:32s} {r['calls_per_pass']:5d} self {r['self_ms']:8.3f} ms\") for r in d['types'][:10]]" "$OUT/$name.json"
}
step ops "$BIN/ops_test" --gtest_filter='*cuda*:*Cuda*'
step models "$BIN/gpu_test"
step device sh -c "'$BIN/anatomy' device --device cuda --format json > '$OUT/device.json' && '$BIN/anatomy' device --device cuda"
step bench python3 tests/gpu/hf_bench.py "$BIN/anatomy" /tmp/anatomy-gpu/bench "$OUT/bench.json" "$(( $(left) - 150 ))" ${BENCH_CASES:-}
step host_share sh -c "for c in 'llama-3.2-3b 16 --decode' 'zamba2-1.2b 35' 'llama-3.2-1b 512' 'nemotron-nano-9b-v2 61'; do '$BIN/bench_host_share' \$c 20; done"
step ops_time "$BIN/bench_cuda_ops"
step commands tests/gpu/commands_check.sh "$BIN/anatomy" /tmp/anatomy-gpu/commands
step hf_golden python3 tests/gpu/hf_check.py "$BIN/anatomy" /tmp/anatomy-gpu/hf "$OUT/hf_golden.json" ${HF_FAMILIES:-}
step profile3b_decode profile_json llama-3.2-3b profile_llama3b_decode_2048 --decode --context 2048
step profile9b profile_json nemotron-nano-9b-v2 profile_nemotron9b --tokens 61
step profile profile_json zamba2-1.2b profile_zamba2 --tokens 35
step profile1b profile_json llama-3.2-1b profile_llama1b --tokens 512
say "== done in $(($(date +%s) - START)) s"
