// Depthwise causal conv1d with state: scalar reference and dispatch (conv_avx2.cpp).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out) {
  dispatch(Kernel::causal_conv1d, [&] { return causal_conv1d_fast(x, w, bias, state, out); },
           [&] { causal_conv1d_reference(x, w, bias, state, out); });
}

void causal_conv1d_reference(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2), K = w.dim(2);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      // window = K−1 previous inputs (from the state) followed by this chunk's inputs
      std::vector<float> win(static_cast<size_t>(K - 1 + T));
      for (int64_t k = 0; k < K - 1; ++k) win[k] = state.data<float>()[(b * C + c) * (K - 1) + k];
      for (int64_t t = 0; t < T; ++t) win[K - 1 + t] = x.data<float>()[(b * T + t) * C + c];
      for (int64_t t = 0; t < T; ++t) {
        float acc = bias ? load(*bias, static_cast<uint64_t>(c)) : 0.0f;
        for (int64_t k = 0; k < K; ++k) acc += load(w, static_cast<uint64_t>(c * K + k)) * win[t + k];
        out.data<float>()[(b * T + t) * C + c] = acc;
      }
      for (int64_t k = 0; k < K - 1; ++k) state.data<float>()[(b * C + c) * (K - 1) + k] = win[T + k];
    }
}

}  // namespace anatomy::cpu
