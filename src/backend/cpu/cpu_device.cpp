// backend/device.h for the CPU: OpenMP threads, the ISA the kernels dispatch to, /proc/meminfo and
// the bandwidth probes of membench.cpp.
#include <omp.h>

#include <cstdlib>
#include <fstream>

#include <oneapi/dnnl/dnnl.hpp>

#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_kernels.h"
#include "backend/cpu/kernels.h"
#include "backend/cpu/membench.h"
#include "backend/device.h"
#include "core/error.h"

namespace anatomy::backend {

std::string device_name() { return "cpu"; }

void set_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

int threads() { return omp_get_max_threads(); }

std::string kernel_isa() {
  if (cpu::have_avx512()) return "avx512";
  return cpu::have_avx2() ? "avx2" : "scalar";
}

void apply_isa_cap() {
  switch (cpu::isa_cap()) {
    case cpu::IsaCap::invalid:
      fail(ErrorKind::config, std::string("$ANATOMY_CPU_ISA: '") + std::getenv("ANATOMY_CPU_ISA") +
                                  "' is not one of avx512, avx2, scalar");
    case cpu::IsaCap::avx2: dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2); break;
    case cpu::IsaCap::scalar: dnnl::set_max_cpu_isa(dnnl::cpu_isa::sse41); break;
    case cpu::IsaCap::avx512: break;
  }
}

uint64_t widened_weight_bytes() { return cpu::widened_weight_bytes(); }

uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

double stream_read(const float* a, int64_t n) { return cpu::stream_read(a, n); }
void stream_triad(float* a, const float* b, const float* c, float s, int64_t n) { cpu::stream_triad(a, b, c, s, n); }

}  // namespace anatomy::backend
