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

namespace {

// Lanes [0, n) of a vector (n < 8): the tail of a row, read and written with masked loads and
// stores so that short rows (a causal row's first keys) need no scalar exp.
__attribute__((target("avx2,fma"))) __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

__attribute__((target("avx2,fma"))) void scaled_softmax_avx2(float* s, int64_t n, float scale) {
  const int64_t body = n / 8 * 8;
  const __m256i tail = tail_mask(n - body);
  const __m256 vscale = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
  __m256 vmax = ninf;
  for (int64_t j = 0; j < body; j += 8) vmax = _mm256_max_ps(vmax, _mm256_mul_ps(_mm256_loadu_ps(s + j), vscale));
  // Lanes past n read as −∞ (blendv keeps the mask's lanes of the load), so they add e⁻∞ = 0.
  const __m256 last = _mm256_blendv_ps(ninf, _mm256_mul_ps(_mm256_maskload_ps(s + body, tail), vscale),
                                       _mm256_castsi256_ps(tail));
  if (body < n) vmax = _mm256_max_ps(vmax, last);
  const __m256 vshift = _mm256_set1_ps(-avx2::hmax8(vmax));
  __m256 vsum = _mm256_setzero_ps();
  for (int64_t j = 0; j < body; j += 8) {
    const __m256 e = avx2::exp8(_mm256_fmadd_ps(_mm256_loadu_ps(s + j), vscale, vshift));
    _mm256_storeu_ps(s + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  __m256 e_last = _mm256_setzero_ps();
  if (body < n) {
    e_last = _mm256_and_ps(avx2::exp8(_mm256_add_ps(last, vshift)), _mm256_castsi256_ps(tail));
    vsum = _mm256_add_ps(vsum, e_last);
  }
  const __m256 vinv = _mm256_set1_ps(1.0f / avx2::hsum8(vsum));
  for (int64_t j = 0; j < body; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), vinv));
  if (body < n) _mm256_maskstore_ps(s + body, tail, _mm256_mul_ps(e_last, vinv));
}

__attribute__((target("avx2,fma"))) void softmax_backward_avx2(const float* p, float* d, int64_t n, float scale) {
  const int64_t body = n / 8 * 8;
  const __m256i tail = tail_mask(n - body);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < body; j += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + j), _mm256_loadu_ps(d + j), acc);
  const __m256 p_last = _mm256_maskload_ps(p + body, tail), d_last = _mm256_maskload_ps(d + body, tail);  // 0 past n
  acc = _mm256_fmadd_ps(p_last, d_last, acc);
  const __m256 vpdp = _mm256_set1_ps(avx2::hsum8(acc)), vscale = _mm256_set1_ps(scale);
  for (int64_t j = 0; j < body; j += 8) {
    const __m256 pj = _mm256_mul_ps(_mm256_loadu_ps(p + j), vscale);
    _mm256_storeu_ps(d + j, _mm256_mul_ps(pj, _mm256_sub_ps(_mm256_loadu_ps(d + j), vpdp)));
  }
  if (body < n) _mm256_maskstore_ps(d + body, tail, _mm256_mul_ps(_mm256_mul_ps(p_last, vscale), _mm256_sub_ps(d_last, vpdp)));
}

void masked_softmax_row_avx2(const AttentionMask& mask, const backend::AttentionArgs& a, int64_t b, int64_t t,
                             int64_t key0, float* s, int64_t n, char* computed) {
  if (mask.exact_row(b, t)) {
    const auto [lo, hi] = mask.span_within(t, key0, n);
    std::fill(s, s + lo, 0.0f);
    std::fill(s + hi, s + n, 0.0f);
    if (hi > lo) scaled_softmax_avx2(s + lo, hi - lo, a.scale);
    if (computed)
      for (int64_t j = 0; j < n; ++j) computed[j] = j >= lo && j < hi;
    return;
  }
  const bool row_masked = mask.row_masked(b, t);
  for (int64_t j = 0; j < n; ++j) {
    const bool masked = mask.masked(b, t, key0 + j, row_masked);
    if (computed) computed[j] = !masked;
    s[j] = masked ? a.masked_value : s[j] * a.scale;
  }
  scaled_softmax_avx2(s, n, 1.0f);
  if (std::isinf(a.masked_value))
    for (int64_t j = 0; j < n; ++j)
      if (mask.masked(b, t, key0 + j, row_masked)) s[j] = 0.0f;
}

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
          const bool row_masked = mask.row_masked(b, t), exact = mask.exact_row(b, t);
          const auto [first, limit] = mask.span(t, row_masked);  // the keys with P > 0
          for (int64_t j = first; j < limit; ++j)  // masked keys' scores are not read
            if (exact || !mask.masked(b, t, j, row_masked)) s[j] = dot(qs, K + ((b * stride + j) * Hkv + h / rep) * hd, hd);
          masked_softmax_row_avx2(mask, a, b, t, first, s.data() + first, limit - first, nullptr);
          float* o = O + (b * T + t) * Hq * hd + h * hd;
          std::fill(o, o + hd, 0.0f);
          for (int64_t j = first; j < limit; ++j) axpy(s[j], V + ((b * stride + j) * Hkv + h / rep) * hd, o, hd);
        }
  }
  return true;
}

}  // namespace anatomy::cpu
