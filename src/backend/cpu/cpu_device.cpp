// backend/device.h for the CPU: OpenMP threads, the ISA the kernels dispatch to, /proc/meminfo and
// the bandwidth probes of membench.cpp.
#include <omp.h>

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>
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

uint64_t prepared_weight_bytes() { return cpu::prepared_weight_bytes(); }

namespace {

cpu::LinearPath path_named(const std::string& name, const std::string& source) {
  for (cpu::LinearPath p : cpu::kLinearPaths)
    if (name == cpu::path_name(p)) return p;
  fail(ErrorKind::config, fmt::format("{}: '{}' is not a GEMM path of this build", source, name));
}

GemmPlan to_gemm_plan(const cpu::LinearPlan& plan) {
  GemmPlan g{{}, plan.source};
  for (const auto& s : plan.steps) g.steps.push_back({dtype_name(s.dtype), s.m_from, cpu::path_name(s.path)});
  return g;
}

}  // namespace

std::vector<std::string> gemm_paths() {
  std::vector<std::string> names;
  for (cpu::LinearPath p : cpu::kLinearPaths) names.emplace_back(cpu::path_name(p));
  return names;
}

std::string gemm_path_unavailable(const std::string& path) { return cpu::path_unavailable(path_named(path, "gemm path")); }

bool linear_through(const std::string& path, const Tensor& x, const Tensor& w, Tensor& out) {
  return cpu::linear_through(path_named(path, "gemm path"), x, w, out);
}

GemmPlan gemm_plan() { return to_gemm_plan(cpu::linear_plan()); }
GemmPlan default_gemm_plan() { return to_gemm_plan(cpu::default_linear_plan()); }

void set_gemm_plan(const GemmPlan& plan) {
  cpu::LinearPlan p{{}, plan.source};
  for (const auto& s : plan.steps) {
    const auto d = dtype_from_string(s.dtype);
    if (d != DType::F32 && d != DType::BF16 && d != DType::F16)
      fail(ErrorKind::config, fmt::format("{}: GEMM plan names dtype '{}' (F32, BF16 or F16)", plan.source, s.dtype));
    p.steps.push_back({*d, s.m_from, path_named(s.path, plan.source)});
  }
  cpu::set_linear_plan(std::move(p));
}

uint64_t available_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return 0;
}

double measure_clock_mhz() { return cpu::measure_clock_mhz(); }
double stream_read(const float* a, int64_t n) { return cpu::stream_read(a, n); }
void stream_triad(float* a, const float* b, const float* c, float s, int64_t n) { cpu::stream_triad(a, b, c, s, n); }

}  // namespace anatomy::backend
