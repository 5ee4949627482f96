// Softmax cross-entropy per row (block per row, max subtracted), and a plain read pass for the
// memory-rate measurement.
#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

__global__ void cross_entropy_kernel(const float* logits, int64_t V, const int64_t* targets, int64_t ignore_index,
                                     float* out) {
  const int64_t target = targets[blockIdx.x];
  if (target == ignore_index) {
    if (threadIdx.x == 0) out[blockIdx.x] = 0.0f;
    return;
  }
  const float* z = logits + blockIdx.x * V;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) mx = fmaxf(mx, z[j]);
  mx = block_max(mx);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) sum += expf(z[j] - mx);
  sum = block_sum(sum);
  if (threadIdx.x == 0) out[blockIdx.x] = logf(sum) - (z[target] - mx);
}

__global__ void read_kernel(const float4* a, int64_t n4, float* sink) {
  float acc = 0.0f;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n4; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float4 v = a[i];
    acc += v.x + v.y + v.z + v.w;
  }
  if (acc == 1.2345f) *sink = acc;  // keeps the loads; practically never stores
}

}  // namespace

void cross_entropy(const float* logits, int64_t rows, int64_t V, const int64_t* targets, int64_t ignore_index, float* out,
                   cudaStream_t s) {
  if (rows == 0) return;
  cross_entropy_kernel<<<static_cast<unsigned>(rows), 256, 0, s>>>(logits, V, targets, ignore_index, out);
  check_launch("cross_entropy");
}

void read_pass(const float* a, int64_t n, float* sink, cudaStream_t s) {
  int sms = 0, device = 0;
  ANATOMY_CUDA_CHECK(cudaGetDevice(&device));
  ANATOMY_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  read_kernel<<<static_cast<unsigned>(sms * 8), 512, 0, s>>>(reinterpret_cast<const float4*>(a), n / 4, sink);
  check_launch("read_pass");
}

}  // namespace anatomy::cuda
