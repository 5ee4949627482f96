// What the CUDA backend's files share: error checks, the one stream every kernel runs on, device
// storage, and raw-pointer access to tensors. Host code (cuda_backend.cpp, compiled by the C++
// compiler) binds the Backend interface to the launchers of kernels.h (compiled by nvcc).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace anatomy::cuda {

// Throws an internal error naming the call and CUDA's message.
void check(cudaError_t status, const char* what);
#define ANATOMY_CUDA_CHECK(call) ::anatomy::cuda::check((call), #call)
// After a kernel launch: a bad configuration is reported at once, not at the next synchronisation.
void check_launch(const char* kernel);

// The stream all work of this process is queued on (work is ordered; the host never waits except
// in to_host and synchronize).
cudaStream_t stream();

// Device memory from the backend's block cache (cuda_backend.cpp): activations freed while later
// work is still queued are reused without a CUDA call or a synchronisation.
class DeviceStorage final : public Storage {
 public:
  explicit DeviceStorage(size_t bytes);
  ~DeviceStorage() override;
  DeviceStorage(const DeviceStorage&) = delete;
  DeviceStorage& operator=(const DeviceStorage&) = delete;
  Kind kind() const override { return Kind::heap; }
  Device device() const override { return Device::cuda; }
  std::byte* data() override { return data_; }
  size_t size() const override { return size_; }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

Tensor device_empty(DType dtype, Shape shape);
Tensor device_zeros(DType dtype, Shape shape);

// Element types as the kernels name them.
enum class Elem : int { f32 = 0, bf16 = 1, f16 = 2 };

}  // namespace anatomy::cuda
