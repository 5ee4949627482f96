// Benchmark: y[M, N] = x[M, K]·Wᵀ with W stored [N, K] as the engine keeps nn.Linear weights
// (f32 by default, or bf16/f16), on the engine's threads, for the M of decode, small batches and
// prefill: each prefill path of the linear op on its own (cpu::linear_through: oneDNN on the stored
// view and on a copy reordered into its preferred layout, the own kernel on packed panels,
// OpenBLAS, the register-blocked kernel), then the linear op's dispatch with the path its built-in
// plan picks (the calibration `anatomy device` keeps is not read here).
// At M = 1 the dispatch is decode's GEMV; the paths run there too, for comparison.
// Median of 7 after 2 warm-ups; GFLOP/s = 2·M·N·K / time. Optionally only some M (comma-separated)
// and one path (its name), for experiments on one kernel.
//   bench_gemm_sweep [N] [K] [F32|BF16|F16] [threads] [M,M,…] [path]
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/device.h"
#include "core/half.h"
#include "median_seconds.h"

using namespace anatomy;

int main(int argc, char** argv) {
  const int64_t N = argc > 1 ? std::atoll(argv[1]) : 8192, K = argc > 2 ? std::atoll(argv[2]) : 2048;
  const std::string dtype_arg = argc > 3 ? argv[3] : "F32";
  const std::optional<DType> parsed = dtype_from_string(dtype_arg);
  if (!parsed || (*parsed != DType::F32 && *parsed != DType::BF16 && *parsed != DType::F16)) {
    std::fprintf(stderr, "bench_gemm_sweep: weight dtype '%s' is not F32, BF16 or F16\n", dtype_arg.c_str());
    return 2;
  }
  const DType dtype = *parsed;
  backend::apply_isa_cap();
  backend::set_threads(argc > 4 ? std::atoi(argv[4]) : 2);
  std::vector<int64_t> ms{1, 2, 4, 8, 16, 32, 61, 128, 512};
  if (argc > 5) {
    ms.clear();
    for (const char* p = argv[5]; *p;) {
      char* end = nullptr;
      ms.push_back(std::strtoll(p, &end, 10));
      if (end == p || ms.back() < 1) {
        std::fprintf(stderr, "bench_gemm_sweep: M list '%s' is not positive integers separated by commas\n", argv[5]);
        return 2;
      }
      p = *end == ',' ? end + 1 : end;
    }
  }
  const std::string only = argc > 6 ? argv[6] : "";
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor w = Tensor::empty(dtype, {N, K});
  for (uint64_t i = 0; i < w.numel(); ++i) {
    const float v = u(rng);
    if (dtype == DType::F32) w.data<float>()[i] = v;
    else w.data<uint16_t>()[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  w.storage()->freeze();  // as inference's weights are: the paths may keep copies of it
  std::printf("%s weights [%lld, %lld], GFLOP/s (—: the path does not run here)\n\n| M |", dtype_name(dtype),
              static_cast<long long>(N), static_cast<long long>(K));
  for (cpu::LinearPath p : cpu::kLinearPaths) std::printf(" %s |", cpu::path_name(p));
  std::printf(" anatomy linear | its path |\n|---|---|---|---|---|---|---|---|\n");
  for (int64_t M : ms) {
    Tensor x = Tensor::empty(DType::F32, {M, K}), y = Tensor::empty(DType::F32, {M, N});
    for (uint64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
    const double flops = 2.0 * static_cast<double>(M * N * K);
    std::printf("| %lld |", static_cast<long long>(M));
    for (cpu::LinearPath p : cpu::kLinearPaths) {
      if ((!only.empty() && only != cpu::path_name(p)) || !cpu::linear_through(p, x, w, y)) std::printf(" — |");
      else std::printf(" %.1f |", flops / median_seconds([&] { cpu::linear_through(p, x, w, y); }) / 1e9);
    }
    const double ours = median_seconds([&] { cpu::linear_fast(x, w, nullptr, false, y); });
    std::printf(" %.1f | %s |\n", flops / ours / 1e9,
                M == 1 ? "GEMV" : cpu::path_name(cpu::planned_path(dtype, M)));
  }
  return 0;
}
