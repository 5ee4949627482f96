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

// out[t] = b + Σ_k w[k]·x[t + k − (K−1)] per channel, from a zero state:
// dx[s] += Σ_k w[k]·dy[s − k + K − 1], dw[k] += Σ_t dy[t]·x[t + k − K + 1], db += Σ_t dy[t].
void causal_conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor& dx, Tensor& dw, Tensor* dbias) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2), K = w.dim(2);
  const float* xs = x.data<float>();
  const float* g = dy.data<float>();
  const std::vector<float> ws = floats(w);
  float *dxs = dx.data<float>(), *dws = dw.data<float>(), *dbs = dbias ? dbias->data<float>() : nullptr;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < C; ++c) {  // channels are independent: no two threads share a gradient
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const float gt = g[(b * T + t) * C + c];
        if (dbs) dbs[c] += gt;
        for (int64_t k = std::max<int64_t>(0, K - 1 - t); k < K; ++k) {  // inputs before the sequence are 0
          const int64_t s = t + k - (K - 1);
          dws[c * K + k] += gt * xs[(b * T + s) * C + c];
          dxs[(b * T + s) * C + c] += gt * ws[c * K + k];
        }
      }
  }
}

}  // namespace anatomy::cpu
