// What `anatomy device` reports of the GPU: its properties and its measured memory rates.
#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/cuda/kernels.h"
#include "backend/device.h"

namespace anatomy::backend {
namespace {

std::string version(int v) { return fmt::format("{}.{}", v / 1000, v % 1000 / 10); }

template <class F>
double median_ms(F&& f, int repeats) {
  cudaEvent_t a = nullptr, b = nullptr;
  ANATOMY_CUDA_CHECK(cudaEventCreate(&a));
  ANATOMY_CUDA_CHECK(cudaEventCreate(&b));
  f();  // warm-up
  std::vector<float> ms;
  for (int r = 0; r < repeats; ++r) {
    ANATOMY_CUDA_CHECK(cudaEventRecord(a, cuda::stream()));
    f();
    ANATOMY_CUDA_CHECK(cudaEventRecord(b, cuda::stream()));
    ANATOMY_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    ANATOMY_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

GpuInfo gpu_info() {
  cuda();
  cudaDeviceProp p{};
  ANATOMY_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
  int driver = 0, runtime = 0;
  ANATOMY_CUDA_CHECK(cudaDriverGetVersion(&driver));
  ANATOMY_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  return {p.name, p.multiProcessorCount, p.major, p.minor, p.totalGlobalMem, static_cast<uint64_t>(p.l2CacheSize),
          version(driver), version(runtime)};
}

uint64_t gpu_free_memory() {
  cuda();
  size_t free = 0, total = 0;
  ANATOMY_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free;
}

double gpu_read_gbs(uint64_t bytes, int repeats) {
  cuda();
  const Tensor a = cuda::device_zeros(DType::F32, {static_cast<int64_t>(bytes / 4)});
  const Tensor sink = cuda::device_zeros(DType::F32, {1});
  const double ms = median_ms([&] { cuda::read_pass(a.data<float>(), static_cast<int64_t>(a.numel()), sink.data<float>(), cuda::stream()); },
                              repeats);
  return static_cast<double>(a.nbytes()) / (ms / 1e3) / 1e9;
}

double gpu_copy_gbs(uint64_t bytes, int repeats) {
  cuda();
  const Tensor a = cuda::device_zeros(DType::F32, {static_cast<int64_t>(bytes / 4)});
  const Tensor b = cuda::device_zeros(DType::F32, {static_cast<int64_t>(bytes / 4)});
  const double ms = median_ms(
      [&] { ANATOMY_CUDA_CHECK(cudaMemcpyAsync(b.raw(), a.raw(), a.nbytes(), cudaMemcpyDeviceToDevice, cuda::stream())); },
      repeats);
  return 2.0 * static_cast<double>(a.nbytes()) / (ms / 1e3) / 1e9;
}

}  // namespace anatomy::backend
