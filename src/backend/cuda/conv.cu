// Depthwise causal conv1d with state. Each output depends on inputs only, so one thread per
// (batch, step, channel) computes it from the window [state | x] (neighbouring threads read
// neighbouring channels: coalesced); a second launch then moves the window's last K − 1 inputs
// into the state, after every output has read the old one (a left shift, in place, one thread per
// (batch, channel) going up: entry k + T is read before it is written). Indices are 32-bit where
// the tensors allow (64-bit division costs dozens of instructions per element).
#include <climits>

#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

// Element j of the window [state (K − 1) | x (T)] of (b, c).
template <class I>
__device__ __forceinline__ float window(const float* x, const float* state, I b, I c, I j, I T, I C, I K) {
  return j >= K - 1 ? x[(b * T + j - (K - 1)) * C + c] : state[(b * C + c) * (K - 1) + j];
}

template <class I>
__global__ void conv_kernel(const float* x, const void* w, Elem wt, const void* bias, Elem bt, I B, I T, I C, I K,
                            const float* state, float* out) {
  const I i = static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x);
  if (i >= B * T * C) return;
  const I bt_index = i / C, c = i - bt_index * C, b = bt_index / T, t = bt_index - b * T;
  float acc = bias ? ld(bias, bt, c) : 0.0f;
  for (I k = 0; k < K; ++k) acc += ld(w, wt, c * K + k) * window<I>(x, state, b, c, t + k, T, C, K);
  out[i] = acc;
}

template <class I>
__global__ void conv_state_kernel(const float* x, I B, I T, I C, I K, float* state) {
  const I i = static_cast<I>(blockIdx.x) * static_cast<I>(blockDim.x) + static_cast<I>(threadIdx.x);
  if (i >= B * C) return;
  const I b = i / C, c = i - b * C;
  for (I k = 0; k < K - 1; ++k) state[i * (K - 1) + k] = window<I>(x, state, b, c, T + k, T, C, K);
}

template <class I>
void launch_conv(const float* x, const void* w, Elem wt, const void* bias, Elem bt, I B, I T, I C, I K, float* state,
                 float* out, cudaStream_t s) {
  if (B * T * C > 0) {
    conv_kernel<I><<<blocks_for(B * T * C, 256), 256, 0, s>>>(x, w, wt, bias, bt, B, T, C, K, state, out);
    check_launch("causal_conv1d");
  }
  if (B * C == 0 || T == 0 || K < 2) return;
  conv_state_kernel<I><<<blocks_for(B * C, 256), 256, 0, s>>>(x, B, T, C, K, state);
  check_launch("causal_conv1d state");
}

}  // namespace

void causal_conv1d(const float* x, const void* w, Elem wt, const void* bias, Elem bt, int64_t B, int64_t T, int64_t C,
                   int64_t K, float* state, float* out, cudaStream_t s) {
  // Every index, the window's included, stays below (B·(T + K)·C)·K.
  if (B * (T + K) * C * K < INT32_MAX)
    return launch_conv<int32_t>(x, w, wt, bias, bt, static_cast<int32_t>(B), static_cast<int32_t>(T), static_cast<int32_t>(C),
                                static_cast<int32_t>(K), state, out, s);
  launch_conv<int64_t>(x, w, wt, bias, bt, B, T, C, K, state, out, s);
}

}  // namespace anatomy::cuda
