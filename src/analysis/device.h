// What this machine can do: the processor, and the ceilings every efficiency figure divides by —
// GEMM FLOP/s per dtype through the engine's own linear op and thread pool, and memory bandwidth
// (read and STREAM triad). Measuring takes seconds, so the result is cached per machine and build.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "backend/device.h"
#include "core/progress.h"
#include "io/json.h"

namespace anatomy::analysis {

struct Processor {
  std::string model;              // /proc/cpuinfo "model name"
  int logical_cpus = 0;           // online
  int physical_cores = 0;         // distinct (package, core) pairs; 0 when unreadable
  int threads = 0;                // threads the engine runs with
  std::vector<std::string> isa;   // the instruction sets that matter to the kernels
  double max_mhz = 0;             // 0 when unreadable
  std::string clock_source;       // which file the clock came from
  double measured_mhz = 0;        // under an all-core vector load (measure_ceilings); 0: not measured
};

struct GemmCeiling {
  std::string dtype;  // of the weights: f32, bf16, f16 (activations are f32)
  int64_t m = 0, n = 0, k = 0;
  std::string shape_kind;  // "large" or the LLM case it stands for
  double gflops = 0;       // median over repeats
};

// One size of the calibration of the prefill GEMM paths: GFLOP/s of each path that runs here.
struct PathTiming {
  std::string dtype;
  int64_t m = 0, n = 0, k = 0;
  std::vector<std::pair<std::string, double>> gflops;  // path -> GFLOP/s (median)
  std::string fastest;
};

struct Ceilings {
  std::string device = "cpu";  // cpu | cuda: what the GEMM and memory figures were measured on
  io::ordered_json gpu;        // cuda: name, multiprocessors, memory, driver and runtime versions
  Processor processor;
  std::string build;        // identifies the anatomy binary (path, size, modification time)
  std::string measured_at;  // UTC, ISO 8601
  bool quick = false;       // small shapes and arrays (tests); not a real ceiling
  std::vector<GemmCeiling> gemm;
  double read_gbs = 0, triad_gbs = 0;  // cuda: triad_gbs is 0 and copy_gbs the device-to-device copy
  double copy_gbs = 0;
  // CPU: the prefill GEMM path per weight dtype and range of M, chosen from path_timings (the
  // fastest at each measured M, from that M up to the next); empty in ceilings from older builds.
  std::vector<backend::GemmPlanStep> gemm_plan;
  std::vector<PathTiming> path_timings;
  std::string cache_file;   // where it was loaded from or saved to; "" when not cached
  bool from_cache = false;
  std::string from_file;    // $ANATOMY_CEILINGS, when the ceilings came from there

  // The best GEMM rate measured for weights of `dtype` (F32 for dtypes not measured).
  const GemmCeiling& gemm_peak(DType dtype) const;
  // "measured on this machine 2026-11-23T10:00:00Z by `anatomy device`".
  std::string source() const;
};

Processor detect_processor();

// The machine's FMA peak in f32 GFLOP/s for the instruction set the kernels dispatch to:
// cores × FMA units × vector lanes × 2 FLOP × clock. Units: 2 per core, but 1 for AMD's
// AVX-512 before Zen 5 (its 512-bit FMAs are double-pumped 256-bit ones); lanes: 16 (avx512), 8
// (avx2), 1 (scalar); the clock measured under load when it was, else the one read from the
// system (a current or base clock understates a boosting core). `basis` spells out the product and
// where the clock came from; 0 when there is no clock.
struct FmaPeak {
  double gflops = 0;
  std::string basis;
};
FmaPeak fma_peak(const Processor& p, const std::string& kernel_isa);
// Measures now. Quick results (small shapes, seconds) are for tests and smoke runs: they are
// never cached and never serve as the ceilings of a profile.
Ceilings measure_ceilings(bool quick, Progress& progress = silent_progress());
// The ceilings of this machine and build: $ANATOMY_CEILINGS when it names a ceilings file (e.g.
// one written by `anatomy device --format json`; quick ones are refused), else the cache, else
// measured (full shapes) and cached. `recalibrate` ignores the cache.
Ceilings device_ceilings(bool recalibrate, Progress& progress = silent_progress());
// The cache logic of device_ceilings with the measurement passed in (tests use a fake one);
// `device` keys the cache ("" for the CPU, the GPU's name for CUDA).
Ceilings cached_ceilings(bool recalibrate, const std::function<Ceilings()>& measure, const std::string& device = "");

// Times every prefill GEMM path that runs here at each M of the plan's ranges, for each weight
// dtype, and returns the plan that keeps the fastest (the timings in `timings`).
std::vector<backend::GemmPlanStep> calibrate_gemm_paths(bool quick, std::vector<PathTiming>& timings,
                                                        Progress& progress = silent_progress());
// Puts a CPU ceilings' GEMM plan in effect (nothing for GPU ceilings or ones without a plan).
void apply_gemm_plan(const Ceilings& c);
// For commands that run models: the plan of the ceilings in $ANATOMY_CEILINGS or in the cache for
// this machine and build, when there are such, put in effect without measuring anything; else the
// built-in plan stays. Returns the source of the plan in effect.
std::string use_calibrated_gemm_plan();
// {"source": …, "plan": [{"dtype", "m_from", "path"}, …]}: the plan in effect, for documents.
io::ordered_json gemm_plan_json(const backend::GemmPlan& plan);

// The GPU's ceilings (the CUDA backend): GEMM TFLOP/s per weight dtype through the backend's own
// linear path (cuBLASLt; f32 without TF32), HBM read and copy GB/s; cached per GPU and build
// like the CPU's. Throws as backend::cuda() does when there is no GPU.
Ceilings measure_gpu_ceilings(bool quick, Progress& progress = silent_progress());
Ceilings gpu_ceilings(bool recalibrate, Progress& progress = silent_progress());

io::ordered_json to_json(const Ceilings& c);
Ceilings ceilings_from_json(const io::json& j);

}  // namespace anatomy::analysis
