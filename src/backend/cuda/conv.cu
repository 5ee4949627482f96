// Depthwise causal conv1d with state. Each output depends on inputs only, so one thread per
// (batch, step, channel) computes it from the window [state | x] (neighbouring threads read
// neighbouring channels: coalesced); a second launch then moves the window's last K − 1 inputs
// into the state, after every output has read the old one (a left shift, in place, one thread per
// (batch, channel) going up: entry k + T is read before it is written).
#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

// Element j of the window [state (K − 1) | x (T)] of (b, c).
__device__ __forceinline__ float window(const float* x, const float* state, int64_t b, int64_t c, int64_t j, int64_t T,
                                       int64_t C, int64_t K) {
  return j >= K - 1 ? x[(b * T + j - (K - 1)) * C + c] : state[(b * C + c) * (K - 1) + j];
}

__global__ void conv_kernel(const float* x, const void* w, Elem wt, const void* bias, Elem bt, int64_t B, int64_t T,
                            int64_t C, int64_t K, const float* state, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= B * T * C) return;
  const int64_t c = i % C, t = (i / C) % T, b = i / (C * T);
  float acc = bias ? ld(bias, bt, c) : 0.0f;
  for (int64_t k = 0; k < K; ++k) acc += ld(w, wt, c * K + k) * window(x, state, b, c, t + k, T, C, K);
  out[i] = acc;
}

__global__ void conv_state_kernel(const float* x, int64_t B, int64_t T, int64_t C, int64_t K, float* state) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= B * C) return;
  const int64_t c = i % C, b = i / C;
  for (int64_t k = 0; k < K - 1; ++k) state[i * (K - 1) + k] = window(x, state, b, c, T + k, T, C, K);
}

}  // namespace

void causal_conv1d(const float* x, const void* w, Elem wt, const void* bias, Elem bt, int64_t B, int64_t T, int64_t C,
                   int64_t K, float* state, float* out, cudaStream_t s) {
  if (B * T * C > 0) {
    conv_kernel<<<blocks_for(B * T * C, 256), 256, 0, s>>>(x, w, wt, bias, bt, B, T, C, K, state, out);
    check_launch("causal_conv1d");
  }
  if (B * C == 0 || T == 0 || K < 2) return;
  conv_state_kernel<<<blocks_for(B * C, 256), 256, 0, s>>>(x, B, T, C, K, state);
  check_launch("causal_conv1d state");
}

}  // namespace anatomy::cuda
