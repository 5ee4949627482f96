// Activations, binary ops with broadcast, −exp, clamp, last-dimension slices and concatenation,
// RoPE (rotate-half pairing, angles in f32 as transformers computes them).
#include "backend/cuda/device_util.cuh"

#include "core/kinds.h"

namespace anatomy::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void activation_kernel(const float* x, int act, int64_t n, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float v = x[i];
  float r = v;
  switch (static_cast<Activation>(act)) {
    case Activation::silu: r = v / (1.0f + expf(-v)); break;
    case Activation::gelu: r = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); break;
    case Activation::gelu_tanh: r = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v))); break;
    case Activation::relu: r = fmaxf(v, 0.0f); break;
    case Activation::relu2: r = fmaxf(v, 0.0f) * fmaxf(v, 0.0f); break;
    case Activation::softplus: r = v > 20.0f ? v : log1pf(expf(v)); break;
  }
  out[i] = r;
}

__global__ void binary_kernel(const float* a, const void* b, Elem bt, int64_t bn, int op, int64_t n, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float bv = ld(b, bt, i % bn);
  out[i] = op == static_cast<int>(BinaryOp::add) ? a[i] + bv : a[i] * bv;
}

__global__ void neg_exp_kernel(const void* x, Elem xt, int64_t n, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = -expf(ld(x, xt, i));
}

__global__ void clamp_kernel(const float* x, float lo, float hi, int64_t n, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = fminf(fmaxf(x[i], lo), hi);
}

__global__ void slice_kernel(const float* x, int64_t rows, int64_t in_width, int64_t start, int64_t out_width, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= rows * out_width) return;
  out[i] = x[(i / out_width) * in_width + start + i % out_width];
}

__global__ void concat_kernel(const float* a, int64_t na, const float* b, int64_t nb, int64_t rows, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t w = na + nb;
  if (i >= rows * w) return;
  const int64_t r = i / w, j = i % w;
  out[i] = j < na ? a[r * na + j] : b[r * nb + j - na];
}

// One thread per rotated pair (b, t, h, i).
__global__ void rope_kernel(const float* x, const float* inv_freq, Position at, int64_t T, int64_t H, int64_t hd,
                            int64_t pairs, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= pairs) return;
  const int64_t past = at.get();
  const int64_t half = hd / 2, f = i % half, row = i / half, t = (row / H) % T;
  const float a = static_cast<float>(past + t) * inv_freq[f];
  float sn, cs;
  sincosf(a, &sn, &cs);
  const float* xs = x + row * hd;
  float* o = out + row * hd;
  const float x0 = xs[f], x1 = xs[f + half];
  o[f] = x0 * cs - x1 * sn;
  o[f + half] = x1 * cs + x0 * sn;
}

__global__ void write_time_kernel(const float* src, int64_t T, int64_t inner, int64_t Tmax, Position at, int64_t n,
                                  float* dst) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t t0 = at.get();
  if (i >= n || t0 < 0 || t0 + T > Tmax) return;
  const int64_t b = i / (T * inner), r = i % (T * inner);
  dst[(b * Tmax + t0) * inner + r] = src[i];
}

}  // namespace

void activation(const float* x, int act, int64_t n, float* out, cudaStream_t s) {
  if (n == 0) return;
  activation_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(x, act, n, out);
  check_launch("activation");
}

void binary(const float* a, const void* b, Elem bt, int64_t bn, int op, int64_t n, float* out, cudaStream_t s) {
  if (n == 0) return;
  binary_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(a, b, bt, bn, op, n, out);
  check_launch("binary");
}

void neg_exp(const void* x, Elem xt, int64_t n, float* out, cudaStream_t s) {
  if (n == 0) return;
  neg_exp_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(x, xt, n, out);
  check_launch("neg_exp");
}

void clamp(const float* x, float lo, float hi, int64_t n, float* out, cudaStream_t s) {
  if (n == 0) return;
  clamp_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(x, lo, hi, n, out);
  check_launch("clamp");
}

void slice_last(const float* x, int64_t rows, int64_t in_width, int64_t start, int64_t out_width, float* out,
                cudaStream_t s) {
  if (rows * out_width == 0) return;
  slice_kernel<<<blocks_for(rows * out_width, kThreads), kThreads, 0, s>>>(x, rows, in_width, start, out_width, out);
  check_launch("slice_last");
}

void concat_last(const float* a, int64_t na, const float* b, int64_t nb, int64_t rows, float* out, cudaStream_t s) {
  if (rows * (na + nb) == 0) return;
  concat_kernel<<<blocks_for(rows * (na + nb), kThreads), kThreads, 0, s>>>(a, na, b, nb, rows, out);
  check_launch("concat_last");
}

void rope(const float* x, const float* inv_freq, Position past, int64_t B, int64_t T, int64_t H, int64_t hd, float* out,
          cudaStream_t s) {
  const int64_t pairs = B * T * H * (hd / 2);
  if (pairs == 0) return;
  rope_kernel<<<blocks_for(pairs, kThreads), kThreads, 0, s>>>(x, inv_freq, past, T, H, hd, pairs, out);
  check_launch("rope");
}

void write_time(const float* src, int64_t B, int64_t T, int64_t inner, int64_t Tmax, Position at, float* dst,
                cudaStream_t s) {
  const int64_t n = B * T * inner;
  if (n == 0) return;
  write_time_kernel<<<blocks_for(n, kThreads), kThreads, 0, s>>>(src, T, inner, Tmax, at, n, dst);
  check_launch("write_time");
}

}  // namespace anatomy::cuda
