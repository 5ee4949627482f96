# Sourced by the peer benchmarks. With ANATOMY_CPU_ISA=avx2 every engine is held to AVX2 in the
# same run: oneDNN (ONEDNN_MAX_CPU_ISA, for anatomy and PyTorch), OpenBLAS (OPENBLAS_CORETYPE,
# for PyTorch), and llama.cpp through a copy of its npm package whose CPU library folder keeps only
# the variants without AVX-512 or AVX-VNNI (ggml picks the best variant present, here haswell);
# the peers load llama.cpp from $LLAMACPP_DIR. Prints what it set.
if [ "${ANATOMY_CPU_ISA:-}" = "avx2" ]; then
  export ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell
  LLAMACPP_DIR=build/bench-data/llamacpp-avx2
  if [ ! -d "$LLAMACPP_DIR/node_modules" ]; then
    mkdir -p "$LLAMACPP_DIR"
    cp -al tests/llamacpp/package.json tests/llamacpp/node_modules "$LLAMACPP_DIR/"  # hard links: no copy of the data
    bins="$LLAMACPP_DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
    for v in alderlake cannonlake cascadelake cooperlake icelake sapphirerapids skylakex zen4; do rm -f "$bins/libggml-cpu-$v.so"; done
  fi
  export LLAMACPP_DIR="$PWD/$LLAMACPP_DIR"
  echo "ISA limits: ANATOMY_CPU_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell; llama.cpp from $LLAMACPP_DIR (CPU variants: $(ls "$LLAMACPP_DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64" | sed -n 's/libggml-cpu-\(.*\)\.so/\1/p' | tr '\n' ' '))"
else
  echo "ISA limits: none (each engine picks its widest instruction set)"
fi
