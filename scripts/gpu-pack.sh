#!/bin/bash
# Builds anatomy with the CUDA backend here and packs what scripts/gpu-check.sh needs on a GPU
# machine into .gpu/ (git-ignored; carried to the machine): the binaries (anatomy, ops_test,
# gpu_test, bench_host_share, bench_cuda_ops) and their small non-CUDA libraries as one xz archive. The CUDA libraries are the GPU
# machine's own (cuBLASLt alone is 541 MB), found there at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DANATOMY_CUDA=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target anatomy ops_test gpu_test bench_host_share bench_cuda_ops
rm -rf .gpu && mkdir -p .gpu/bin .gpu/lib
cp "$BUILD/anatomy" "$BUILD/tests/ops_test" "$BUILD/tests/gpu_test" "$BUILD/bench/bench_host_share" "$BUILD/bench/bench_cuda_ops" .gpu/bin/
for lib in $(ldd .gpu/bin/* | awk '/=>/ {print $3}' | sort -u); do
  case $(basename "$lib") in
    libc.so*|libm.so*|libstdc++*|libgcc_s*|libdl.so*|libpthread*|librt.so*|libcuda.so*|libcublas*|libcudart*) ;;
    *) cp -L "$lib" .gpu/lib/ ;;
  esac
done
tar -C .gpu -cf - lib | xz -T0 -6 > .gpu/lib.tar.xz
rm -rf .gpu/lib
du -sh .gpu/* 
