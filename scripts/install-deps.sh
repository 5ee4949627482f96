#!/usr/bin/env bash
# Installs the Debian packages anatomy needs to build and test, skipping those already present.
set -euo pipefail
packages=(build-essential cmake pkg-config nlohmann-json3-dev libfmt-dev libcli11-dev
          libgtest-dev libbenchmark-dev libdnnl-dev python3 python3-numpy python3-torch)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
