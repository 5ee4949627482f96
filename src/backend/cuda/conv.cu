// Depthwise causal conv1d with state: one thread per (batch, channel) walks the time steps with
// its window in registers; neighbouring threads read neighbouring channels (coalesced).
#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

constexpr int kMaxTaps = 16;

__global__ void causal_conv1d_kernel(const float* x, const void* w, Elem wt, const void* bias, Elem bt, int64_t B,
                                     int64_t T, int64_t C, int64_t K, float* state, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= B * C) return;
  const int64_t b = i / C, c = i % C;
  float win[kMaxTaps], taps[kMaxTaps];
  for (int64_t k = 0; k < K; ++k) taps[k] = ld(w, wt, c * K + k);
  float* st = state + (b * C + c) * (K - 1);
  for (int64_t k = 0; k < K - 1; ++k) win[k] = st[k];
  const float b0 = bias ? ld(bias, bt, c) : 0.0f;
  for (int64_t t = 0; t < T; ++t) {
    win[K - 1] = x[(b * T + t) * C + c];
    float acc = b0;
    for (int64_t k = 0; k < K; ++k) acc += taps[k] * win[k];
    out[(b * T + t) * C + c] = acc;
    for (int64_t k = 0; k + 1 < K; ++k) win[k] = win[k + 1];
  }
  for (int64_t k = 0; k < K - 1; ++k) st[k] = win[k];
}

}  // namespace

int64_t max_conv_taps() { return kMaxTaps; }

void causal_conv1d(const float* x, const void* w, Elem wt, const void* bias, Elem bt, int64_t B, int64_t T, int64_t C,
                   int64_t K, float* state, float* out, cudaStream_t s) {
  if (B * C == 0) return;
  causal_conv1d_kernel<<<blocks_for(B * C, 128), 128, 0, s>>>(x, w, wt, bias, bt, B, T, C, K, state, out);
  check_launch("causal_conv1d");
}

}  // namespace anatomy::cuda
