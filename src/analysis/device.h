// What this machine can do: the processor, and the ceilings every efficiency figure divides by —
// GEMM FLOP/s per dtype through the engine's own linear op and thread pool, and memory bandwidth
// (read and STREAM triad). Measuring takes seconds, so the result is cached per machine and build.
#pragma once

#include <string>
#include <vector>

#include "core/dtype.h"
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
};

struct GemmCeiling {
  std::string dtype;  // of the weights: f32, bf16, f16 (activations are f32)
  int64_t m = 0, n = 0, k = 0;
  std::string shape_kind;  // "large" or the LLM case it stands for
  double gflops = 0;       // median over repeats
};

struct Ceilings {
  Processor processor;
  std::string build;        // identifies the anatomy binary (path, size, modification time)
  std::string measured_at;  // UTC, ISO 8601
  bool quick = false;       // small shapes and arrays (tests); not a real ceiling
  std::vector<GemmCeiling> gemm;
  double read_gbs = 0, triad_gbs = 0;
  std::string cache_file;   // where it was loaded from or saved to; "" when not cached
  bool from_cache = false;

  // The best GEMM rate measured for weights of `dtype` (F32 for dtypes not measured).
  const GemmCeiling& gemm_peak(DType dtype) const;
  // "measured on this machine 2026-11-23T10:00:00Z by `anatomy device`".
  std::string source() const;
};

Processor detect_processor();
Ceilings measure_ceilings(bool quick);
// Cached ceilings of this machine and build; measured and cached when absent or when recalibrating.
Ceilings device_ceilings(bool recalibrate, bool quick = false);

io::ordered_json to_json(const Ceilings& c);
Ceilings ceilings_from_json(const io::json& j);

}  // namespace anatomy::analysis
