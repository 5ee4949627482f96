// RMSNorm, LayerNorm and the Mamba2 gated grouped RMSNorm: one block per row (per row and group),
// sums in f32 over the block.
#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rms_norm_kernel(const float* x, const void* w, Elem wt, float eps, int64_t d, float* out) {
  const float* xs = x + blockIdx.x * d;
  float* o = out + blockIdx.x * d;
  float ss = 0;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) ss += xs[j] * xs[j];
  const float inv = rsqrtf(block_sum(ss) / static_cast<float>(d) + eps);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = xs[j] * inv * ld(w, wt, j);
}

__global__ void layer_norm_kernel(const float* x, const void* w, Elem wt, const void* b, Elem bt, float eps, int64_t d,
                                  float* out) {
  const float* xs = x + blockIdx.x * d;
  float* o = out + blockIdx.x * d;
  float sum = 0;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) sum += xs[j];
  const float mean = block_sum(sum) / static_cast<float>(d);
  float var = 0;  // two passes: the variance of values far from 0 keeps its digits
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) var += (xs[j] - mean) * (xs[j] - mean);
  const float inv = rsqrtf(block_sum(var) / static_cast<float>(d) + eps);
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x)
    o[j] = (xs[j] - mean) * inv * ld(w, wt, j) + (b ? ld(b, bt, j) : 0.0f);
}

// Block (row, group): v = y · silu(z), normalised over the group.
__global__ void gated_rms_norm_kernel(const float* y, const float* z, const void* w, Elem wt, int64_t groups, float eps,
                                      int64_t d, float* out) {
  const int64_t row = blockIdx.x / groups, g = blockIdx.x % groups, gs = d / groups, base = row * d + g * gs;
  float ss = 0;
  for (int64_t j = threadIdx.x; j < gs; j += blockDim.x) {
    const float zv = z[base + j], v = y[base + j] * zv / (1.0f + expf(-zv));
    ss += v * v;
  }
  const float inv = rsqrtf(block_sum(ss) / static_cast<float>(gs) + eps);
  for (int64_t j = threadIdx.x; j < gs; j += blockDim.x) {
    const float zv = z[base + j], v = y[base + j] * zv / (1.0f + expf(-zv));
    out[base + j] = v * inv * ld(w, wt, g * gs + j);
  }
}

}  // namespace

void rms_norm(const float* x, const void* w, Elem wt, float eps, int64_t rows, int64_t d, float* out, cudaStream_t s) {
  if (rows == 0) return;
  rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(x, w, wt, eps, d, out);
  check_launch("rms_norm");
}

void layer_norm(const float* x, const void* w, Elem wt, const void* b, Elem bt, float eps, int64_t rows, int64_t d,
                float* out, cudaStream_t s) {
  if (rows == 0) return;
  layer_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, s>>>(x, w, wt, b, bt, eps, d, out);
  check_launch("layer_norm");
}

void gated_rms_norm(const float* y, const float* z, const void* w, Elem wt, int64_t groups, float eps, int64_t rows,
                    int64_t d, float* out, cudaStream_t s) {
  if (rows == 0) return;
  gated_rms_norm_kernel<<<static_cast<unsigned>(rows * groups), kThreads, 0, s>>>(y, z, w, wt, groups, eps, d, out);
  check_launch("gated_rms_norm");
}

}  // namespace anatomy::cuda
