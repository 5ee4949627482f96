#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, seeded with fuzz/seeds/<target> and the corpus
# grown by earlier runs (in the build folder). A crash, an uncaught exception, a leak, a time-out
# (> 10 s on one input) or more than 2 GiB of memory fails the run; the input is kept as
# BUILD/crash-<target>-* — add it to fuzz/regressions/<target>/ after fixing the bug.
#   fuzz/run.sh BUILD SECONDS [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1 seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors gguf pickle torch config json tokenizer report)
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  dirs=("$corpus" "fuzz/seeds/$t")
  [ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
  echo "fuzz_$t: ${seconds}s"
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=0 -artifact_prefix="$build/crash-$t-" "${dirs[@]}" \
    2>&1 | grep -E "^#[0-9]+[[:space:]]+DONE|ERROR|SUMMARY|Test unit written" || true
  if ls "$build"/crash-"$t"-* >/dev/null 2>&1; then
    echo "fuzz_$t found a failing input: $(ls "$build"/crash-"$t"-*)" >&2
    exit 1
  fi
done
