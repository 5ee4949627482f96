#include "backend/cpu/membench.h"

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

}  // namespace anatomy::cpu
