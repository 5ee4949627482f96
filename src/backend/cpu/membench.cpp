#include "backend/cpu/membench.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

double stream_read(const float* a, int64_t n) {
  // 32 independent sums (lane j only ever adds element j of each block, so the compiler may
  // vectorise without reordering a sum): enough accumulators in flight that adds never limit loads.
  constexpr int64_t kLanes = 32;
  double total = 0;
#pragma omp parallel reduction(+ : total)
  {
    float acc[kLanes] = {};
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n / kLanes; ++i) {
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += a[i * kLanes + j];
    }
    for (float v : acc) total += v;
  }
  return total;
}

void stream_triad(float* a, const float* b, const float* c, float s, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

namespace {

// `adds` dependent integer adds, 8 per loop; a register add's latency is one cycle on every x86-64 core,
// so the chain runs at one add per cycle. With `fma` each loop also issues 8 ymm FMAs (8
// independent chains, 8 cycles apart: never the bottleneck) so the core runs at the clock it
// holds under vector load, which is the one a GEMM sees.
uint64_t add_chain(uint64_t adds, bool fma) {
  uint64_t x = 0, n = adds / 8;
  const uint64_t one = 1;  // a register operand: some cores fold add-immediate chains at rename
  if (fma) {
    asm volatile(
        "vxorps %%ymm0, %%ymm0, %%ymm0\n\t"
        "1:\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm8\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm9\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm10\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm11\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm12\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm13\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm14\n\t"
        "add %2, %0\n\t vfmadd231ps %%ymm0, %%ymm0, %%ymm15\n\t"
        "sub $1, %1\n\t"
        "jnz 1b\n\t"
        "vzeroupper\n\t"
        : "+r"(x), "+r"(n)
        : "r"(one)
        : "xmm0", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");
  } else {
    asm volatile(
        "1:\n\t"
        "add %2, %0\n\t add %2, %0\n\t add %2, %0\n\t add %2, %0\n\t"
        "add %2, %0\n\t add %2, %0\n\t add %2, %0\n\t add %2, %0\n\t"
        "sub $1, %1\n\t"
        "jnz 1b\n\t"
        : "+r"(x), "+r"(n)
        : "r"(one)
        : "cc");
  }
  return x;
}

}  // namespace

double measure_clock_mhz() {
  constexpr uint64_t kAdds = uint64_t{1} << 27;  // ~40 ms at 3.5 GHz
  const bool fma = have_avx2();
  std::vector<double> mhz;
#pragma omp parallel
  {
    add_chain(kAdds / 4, fma);  // wake the core up to its loaded clock
    double best = 0;
    for (int r = 0; r < 3; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      add_chain(kAdds, fma);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, static_cast<double>(kAdds) / s / 1e6);
    }
#pragma omp critical
    mhz.push_back(best);
  }
  std::sort(mhz.begin(), mhz.end());
  return mhz[mhz.size() / 2];
}

}  // namespace anatomy::cpu
