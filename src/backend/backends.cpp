// Backends by name, and what a build without CUDA says when asked for it.
#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/device.h"
#include "core/error.h"

namespace anatomy::backend {

std::shared_ptr<const Backend> for_device(const std::string& name) {
  if (name == "cpu") return cpu();
  if (name == "cuda") return cuda();
  fail(ErrorKind::config, fmt::format("--device {}: unknown device (cpu or cuda)", name));
}

#ifndef ANATOMY_HAVE_CUDA
bool cuda_available(std::string* why) {
  if (why) *why = "this anatomy was built without the CUDA backend (configure with -DANATOMY_CUDA=ON where nvcc ≥ 12 is installed)";
  return false;
}

std::shared_ptr<const Backend> cuda() {
  std::string why;
  cuda_available(&why);
  fail(ErrorKind::device, "--device cuda: " + why);
}

GpuInfo gpu_info() { cuda(); return {}; }
uint64_t gpu_free_memory() { cuda(); return 0; }
double gpu_read_gbs(uint64_t, int) { cuda(); return 0; }
double gpu_copy_gbs(uint64_t, int) { cuda(); return 0; }
#endif

}  // namespace anatomy::backend
