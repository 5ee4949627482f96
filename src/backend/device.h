// The device face: what the layers above the backends (analysis, cli) may know about the machine
// that executes — its name, the thread pool, the instruction set the kernels dispatch to, and the
// memory probes. Nothing above backend/ includes backend/cpu/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace anatomy::backend {

std::string device_name();  // "cpu"
void set_threads(int threads);  // 0 keeps OpenMP's default (all cores)
int threads();
// The widest instruction set the CPU kernels use here: "avx512", "avx2" or "scalar".
std::string kernel_isa();
// $ANATOMY_CPU_ISA=avx2 (or scalar) caps the dispatch of the engine's kernels and of oneDNN, so
// that figures compare across machines (an AVX-512 machine measured as an AVX2 one). Call once at
// startup, before any kernel runs; throws a config error naming the variable for other values.
void apply_isa_cap();

// The CPU linear op's prefill GEMM paths (M ≥ 2; backend/cpu/gemm.h): "onednn",
// "onednn_reordered", "packed", "openblas", "registers", and the plan that picks one per weight
// dtype and range of M — built-in, or the calibration of `anatomy device` (analysis/device.h).
struct GemmPlanStep {
  std::string dtype;  // F32, BF16, F16
  int64_t m_from = 2;  // up to the next step of the same dtype
  std::string path;
};
struct GemmPlan {
  std::vector<GemmPlanStep> steps;
  std::string source;  // where the plan came from
};
std::vector<std::string> gemm_paths();                      // every path, runnable here or not
std::string gemm_path_unavailable(const std::string& path);  // "" when it runs here, else why not
// y[M, N] = x[M, K]·Wᵀ through `path` alone (no fallback); false when it cannot run this weight here.
bool linear_through(const std::string& path, const Tensor& x, const Tensor& w, Tensor& out);
GemmPlan gemm_plan();            // the plan in effect
GemmPlan default_gemm_plan();
// Before any model runs; throws a config error naming plan.source for a path that does not run here.
void set_gemm_plan(const GemmPlan& plan);

// Memory probes: MemAvailable of /proc/meminfo (0 when unreadable), and the rates at which this
// machine streams arrays far larger than its caches with the engine's thread pool.
uint64_t available_memory();
// Bytes of weight copies the backend keeps (prefill's f32 copies of half weights and packed
// panels, decode's panel form; made once per weight while half the available memory allows).
uint64_t prepared_weight_bytes();
// The core clock under an all-thread vector load, measured (MHz; see backend/cpu/membench.h).
double measure_clock_mhz();
double stream_read(const float* a, int64_t n);  // returns the sum so the loads cannot be elided
void stream_triad(float* a, const float* b, const float* c, float s, int64_t n);

// The GPU the CUDA backend runs on, and its memory rates (median over repeats of one read pass
// and one device-to-device copy of `bytes`, timed with events; GB/s counting bytes read, and read
// plus written for the copy). Throw as backend::cuda() does when there is no GPU.
struct GpuInfo {
  std::string name;
  int multiprocessors = 0, cc_major = 0, cc_minor = 0;
  uint64_t memory_bytes = 0, l2_bytes = 0;
  std::string driver, runtime;  // "13.0"
};
GpuInfo gpu_info();
// Bytes of GPU memory free now (cudaMemGetInfo).
uint64_t gpu_free_memory();
double gpu_read_gbs(uint64_t bytes, int repeats);
double gpu_copy_gbs(uint64_t bytes, int repeats);

}  // namespace anatomy::backend
