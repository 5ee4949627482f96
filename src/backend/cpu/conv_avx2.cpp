// Depthwise causal conv1d, fast path: OpenMP over channels. Same sums as the reference in
// conv.cpp.
#include <immintrin.h>

#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

bool causal_conv1d_fast(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2), K = w.dim(2);
#pragma omp parallel
  {
    std::vector<float> win(static_cast<size_t>(K - 1 + T));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t c = 0; c < C; ++c) {
        float* st = state.data<float>() + (b * C + c) * (K - 1);
        for (int64_t k = 0; k < K - 1; ++k) win[k] = st[k];
        for (int64_t t = 0; t < T; ++t) win[K - 1 + t] = x.data<float>()[(b * T + t) * C + c];
        float wk[16];
        for (int64_t k = 0; k < K && k < 16; ++k) wk[k] = load(w, static_cast<uint64_t>(c * K + k));
        const float b0 = bias ? load(*bias, static_cast<uint64_t>(c)) : 0.0f;
        for (int64_t t = 0; t < T; ++t) {
          float acc = b0;
          for (int64_t k = 0; k < K; ++k) acc += (k < 16 ? wk[k] : load(w, static_cast<uint64_t>(c * K + k))) * win[t + k];
          out.data<float>()[(b * T + t) * C + c] = acc;
        }
        for (int64_t k = 0; k < K - 1; ++k) st[k] = win[T + k];
      }
  }
  return true;
}

}  // namespace anatomy::cpu
