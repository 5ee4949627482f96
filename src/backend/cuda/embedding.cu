// Embedding rows, the sinusoidal position table and position ids.
#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

__global__ void embedding_kernel(const void* w, Elem wt, int64_t V, int64_t d, const int64_t* ids, int64_t n, float* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= n * d) return;
  const int64_t row = i / d, j = i % d;
  int64_t id = ids[row];
  id = id < 0 ? 0 : (id >= V ? V - 1 : id);  // ids are range-checked by the caller
  out[i] = ld(w, wt, id * d + j);
}

__global__ void sinusoid_kernel(float* out, int64_t T, int64_t d) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= T * d) return;
  const int64_t p = i / d, j = i % d, even = j - j % 2;
  // Double precision, as the CPU table: positions × frequencies lose digits in f32.
  const double angle = static_cast<double>(p) / pow(10000.0, static_cast<double>(even) / static_cast<double>(d));
  out[i] = static_cast<float>(j % 2 == 0 ? sin(angle) : cos(angle));
}

__global__ void positions_kernel(Position past, int64_t B, int64_t T, int64_t* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < B * T) out[i] = past.get() + i % T;
}

__global__ void fill_i64_kernel(int64_t* p, int64_t value) { *p = value; }

}  // namespace

void embedding(const void* weight, Elem wt, int64_t V, int64_t d, const int64_t* ids, int64_t n, float* out, cudaStream_t s) {
  if (n * d == 0) return;
  embedding_kernel<<<blocks_for(n * d, 256), 256, 0, s>>>(weight, wt, V, d, ids, n, out);
  check_launch("embedding");
}

void sinusoid_table(float* out, int64_t T, int64_t d, cudaStream_t s) {
  if (T * d == 0) return;
  sinusoid_kernel<<<blocks_for(T * d, 256), 256, 0, s>>>(out, T, d);
  check_launch("sinusoid_table");
}

void positions(Position past, int64_t B, int64_t T, int64_t* out, cudaStream_t s) {
  if (B * T == 0) return;
  positions_kernel<<<blocks_for(B * T, 256), 256, 0, s>>>(past, B, T, out);
  check_launch("positions");
}

void fill_i64(int64_t* p, int64_t value, cudaStream_t s) {
  fill_i64_kernel<<<1, 1, 0, s>>>(p, value);
  check_launch("fill_i64");
}

}  // namespace anatomy::cuda
