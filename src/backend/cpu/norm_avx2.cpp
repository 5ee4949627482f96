// AVX2 fast paths of RMSNorm, LayerNorm and the gated grouped RMSNorm of Mamba2. Same results as
// the references in norm.cpp up to float rounding; tested against them in tests/ops.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

using namespace avx2;

__attribute__((target("avx2,fma"))) bool layer_norm_fast(const Tensor& x, const std::vector<float>& w,
                                                         const std::vector<float>& b, float eps, Tensor& out) {
  const int64_t d = x.dim(-1), rows = static_cast<int64_t>(x.numel()) / d;
  if (d % 8 != 0) return false;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xs = x.data<float>() + r * d;
    float* o = out.data<float>() + r * d;
    __m256 s = _mm256_setzero_ps();
    for (int64_t j = 0; j < d; j += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(xs + j));
    const float mean = avx2::hsum8(s) / static_cast<float>(d);
    const __m256 m = _mm256_set1_ps(mean);
    __m256 v = _mm256_setzero_ps();
    for (int64_t j = 0; j < d; j += 8) {
      const __m256 c = _mm256_sub_ps(_mm256_loadu_ps(xs + j), m);
      v = _mm256_fmadd_ps(c, c, v);
    }
    const __m256 inv = _mm256_set1_ps(1.0f / std::sqrt(avx2::hsum8(v) / static_cast<float>(d) + eps));
    for (int64_t j = 0; j < d; j += 8) {
      const __m256 c = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xs + j), m), inv);
      _mm256_storeu_ps(o + j, _mm256_fmadd_ps(c, _mm256_loadu_ps(w.data() + j), _mm256_loadu_ps(b.data() + j)));
    }
  }
  return true;
}

__attribute__((target("avx2,fma"))) bool gated_rms_norm_fast(const Tensor& y, const Tensor& z, const std::vector<float>& w,
                                                             int64_t groups, float eps, Tensor& out) {
  const int64_t d = y.dim(-1), gs = d / groups, rows = static_cast<int64_t>(y.numel()) / d;
  if (gs % 8 != 0) return false;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float *ys = y.data<float>() + r * d, *zs = z.data<float>() + r * d;
    float* o = out.data<float>() + r * d;
    for (int64_t j = 0; j < d; j += 8)  // v = y·silu(z), kept in the output row
      _mm256_storeu_ps(o + j, _mm256_mul_ps(_mm256_loadu_ps(ys + j), silu8(_mm256_loadu_ps(zs + j))));
    for (int64_t g = 0; g < groups; ++g) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t j = g * gs; j < (g + 1) * gs; j += 8) {
        const __m256 v = _mm256_loadu_ps(o + j);
        acc = _mm256_fmadd_ps(v, v, acc);
      }
      const __m256 inv = _mm256_set1_ps(1.0f / std::sqrt(avx2::hsum8(acc) / static_cast<float>(gs) + eps));
      for (int64_t j = g * gs; j < (g + 1) * gs; j += 8)
        _mm256_storeu_ps(o + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(o + j), inv), _mm256_loadu_ps(w.data() + j)));
    }
  }
  return true;
}

__attribute__((target("avx2,fma"))) bool rms_norm_fast(const Tensor& x, const std::vector<float>& w, float eps, Tensor& out) {
  const int64_t d = x.dim(-1), rows = static_cast<int64_t>(x.numel()) / d, d8 = d / 8 * 8;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xs = x.data<float>() + r * d;
    float* o = out.data<float>() + r * d;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t j = 0; j < d8; j += 8) {
      const __m256 v = _mm256_loadu_ps(xs + j);
      acc = _mm256_fmadd_ps(v, v, acc);
    }
    double ss = avx2::hsum8(acc);
    for (int64_t j = d8; j < d; ++j) ss += static_cast<double>(xs[j]) * xs[j];
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(d)) + eps);
    const __m256 iv = _mm256_set1_ps(inv);
    for (int64_t j = 0; j < d8; j += 8)
      _mm256_storeu_ps(o + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xs + j), iv), _mm256_loadu_ps(w.data() + j)));
    for (int64_t j = d8; j < d; ++j) o[j] = xs[j] * inv * w[j];
  }
  return true;
}

}  // namespace anatomy::cpu
