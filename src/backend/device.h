// The device face: what the layers above the backends (analysis, cli) may know about the machine
// that executes — its name, the thread pool, the instruction set the kernels dispatch to, and the
// memory probes. Nothing above backend/ includes backend/cpu/.
#pragma once

#include <cstdint>
#include <string>

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

// Memory probes: MemAvailable of /proc/meminfo (0 when unreadable), and the rates at which this
// machine streams arrays far larger than its caches with the engine's thread pool.
uint64_t available_memory();
// Bytes of f32 copies the backend keeps of half-precision weights to run prefill GEMMs in f32
// (made once per weight while half the available memory allows).
uint64_t widened_weight_bytes();
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
