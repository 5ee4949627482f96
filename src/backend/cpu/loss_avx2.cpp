// AVX2 fast paths of the softmax cross-entropy: the references' formulas (loss.cpp) with exp8 and
// each row's sum of exponentials in double lanes.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

__attribute__((target("avx2,fma"))) float row_max(const float* z, int64_t V) {
  const int64_t body = V / 8 * 8;
  __m256 m = _mm256_set1_ps(-INFINITY);
  for (int64_t j = 0; j < body; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(z + j));
  float mx = avx2::hmax8(m);
  for (int64_t j = body; j < V; ++j) mx = std::max(mx, z[j]);
  return mx;
}

// Σ_j exp(z_j − mx), each exponential also written to e when it is not null.
__attribute__((target("avx2,fma"))) double sum_exp(const float* z, int64_t V, float mx, float* e) {
  const int64_t body = V / 8 * 8;
  const __m256 shift = _mm256_set1_ps(mx);
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (int64_t j = 0; j < body; j += 8) {
    const __m256 x = avx2::exp8(_mm256_sub_ps(_mm256_loadu_ps(z + j), shift));
    if (e) _mm256_storeu_ps(e + j, x);
    lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
    hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(lo, hi));
  double sum = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (int64_t j = body; j < V; ++j) {
    const float x = std::exp(z[j] - mx);
    if (e) e[j] = x;
    sum += x;
  }
  return sum;
}

}  // namespace

bool cross_entropy_fast(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out) {
  const int64_t V = last(logits), R = rows(logits);
  const float* Z = logits.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (R * V > (1 << 15))
  for (int64_t r = 0; r < R; ++r) {
    const int64_t target = id_at(targets, r);
    if (target == ignore_index) {
      o[r] = 0.0f;
      continue;
    }
    const float* z = Z + r * V;
    const float mx = row_max(z, V);
    o[r] = static_cast<float>(std::log(sum_exp(z, V, mx, nullptr)) - static_cast<double>(z[target] - mx));
  }
  return true;
}

__attribute__((target("avx2,fma"))) bool cross_entropy_backward_fast(const Tensor& logits, const Tensor& targets,
                                                                     int64_t ignore_index, const Tensor& dloss,
                                                                     Tensor& dlogits) {
  const int64_t V = last(logits), R = rows(logits), body = V / 8 * 8;
  const float *Z = logits.data<float>(), *G = dloss.data<float>();
  float* D = dlogits.data<float>();
#pragma omp parallel if (R * V > (1 << 15))
  {
    std::vector<float> e(static_cast<size_t>(V));  // the row's exponentials, per thread
#pragma omp for schedule(static)
    for (int64_t r = 0; r < R; ++r) {
      const int64_t target = id_at(targets, r);
      const float g = G[r];
      if (target == ignore_index || g == 0.0f) continue;
      const float* z = Z + r * V;
      float* d = D + r * V;
      const double sum = sum_exp(z, V, row_max(z, V), e.data());
      const float scale = static_cast<float>(g / sum);
      const __m256 s = _mm256_set1_ps(scale);
      for (int64_t j = 0; j < body; j += 8)
        _mm256_storeu_ps(d + j, _mm256_fmadd_ps(_mm256_loadu_ps(e.data() + j), s, _mm256_loadu_ps(d + j)));
      for (int64_t j = body; j < V; ++j) d[j] += e[j] * scale;
      d[target] -= g;
    }
  }
  return true;
}

}  // namespace anatomy::cpu
