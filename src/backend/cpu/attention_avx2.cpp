// Attention, fast path: OpenMP over (batch, head), AVX2 dot products and axpy, scores kept per
// query row (T×T is never materialised). Same semantics as the reference in attention.cpp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

__attribute__((target("avx2,fma"))) float dot(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float r = avx2::hsum8(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) r += a[i] * b[i];
  return r;
}

__attribute__((target("avx2,fma"))) void axpy(float a, const float* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += a * x[i];
}

}  // namespace

bool attention_fast(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) {
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Tk = a.keys, stride = k.dim(1), Hkv = k.dim(2);
  const int64_t rep = Hq / Hkv;
  const AttentionMask mask(a, T);
  // Pointers taken once: Tensor::data() per key costs more than the dot product at small head sizes.
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>();
  float* O = out.data<float>();
#pragma omp parallel
  {
    std::vector<float> s(static_cast<size_t>(Tk));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hq; ++h)
        for (int64_t t = 0; t < T; ++t) {
          const float* qs = Q + ((b * T + t) * Hq + h) * hd;
          const bool row_masked = mask.row_masked(b, t);
          const auto [first, limit] = mask.span(t, row_masked);  // the keys with P > 0
          float mx = -INFINITY;
          for (int64_t j = first; j < limit; ++j) {
            s[j] = mask.masked(b, t, j, row_masked) ? a.masked_value : dot(qs, K + ((b * stride + j) * Hkv + h / rep) * hd, hd) * a.scale;
            mx = std::max(mx, s[j]);
          }
          double sum = 0;
          for (int64_t j = first; j < limit; ++j) sum += (s[j] = std::exp(s[j] - mx));
          float* o = O + (b * T + t) * Hq * hd + h * hd;
          std::fill(o, o + hd, 0.0f);
          const auto inv = static_cast<float>(1.0 / sum);
          for (int64_t j = first; j < limit; ++j)
            axpy(s[j] * inv, V + ((b * stride + j) * Hkv + h / rep) * hd, o, hd);
        }
  }
  return true;
}

}  // namespace anatomy::cpu
