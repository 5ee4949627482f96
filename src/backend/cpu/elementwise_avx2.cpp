// AVX2 fast paths of the small kernels: RMSNorm, residual add / multiply (with broadcast),
// SiLU / ReLU / ReLU² and RoPE. Same results as the references in kernels.cpp up to float
// rounding; tested against them in tests/backend.
#include <immintrin.h>

#include <cmath>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

__attribute__((target("avx2,fma"))) inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// exp(x) for x ≤ 0-ish ranges used by SiLU: Cephes-style polynomial, relative error ~1e-7.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

}  // namespace

__attribute__((target("avx2,fma"))) bool rms_norm_fast(const Tensor& x, const std::vector<float>& w, float eps, Tensor& out) {
  if (!have_avx2()) return false;
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
    double ss = hsum8(acc);
    for (int64_t j = d8; j < d; ++j) ss += static_cast<double>(xs[j]) * xs[j];
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(d)) + eps);
    const __m256 iv = _mm256_set1_ps(inv);
    for (int64_t j = 0; j < d8; j += 8)
      _mm256_storeu_ps(o + j, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xs + j), iv), _mm256_loadu_ps(w.data() + j)));
    for (int64_t j = d8; j < d; ++j) o[j] = xs[j] * inv * w[j];
  }
  return true;
}

__attribute__((target("avx2,fma"))) bool binary_fast(const Tensor& a, const std::vector<float>& b, int op, Tensor& out) {
  const auto bn = static_cast<int64_t>(b.size()), n = static_cast<int64_t>(a.numel());
  if (!have_avx2() || bn % 8 != 0) return false;
  const float* as = a.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t r = 0; r < n / bn; ++r)
    for (int64_t j = 0; j < bn; j += 8) {
      const __m256 x = _mm256_loadu_ps(as + r * bn + j), y = _mm256_loadu_ps(b.data() + j);
      _mm256_storeu_ps(o + r * bn + j, op == 0 ? _mm256_add_ps(x, y) : _mm256_mul_ps(x, y));
    }
  return true;
}

// act: 0 silu, 3 relu, 4 relu² (GELU and softplus stay on the reference: erf/log1p).
__attribute__((target("avx2,fma"))) bool activation_fast(const Tensor& x, int act, Tensor& out) {
  if (!have_avx2() || (act != 0 && act != 3 && act != 4)) return false;
  const auto n = static_cast<int64_t>(x.numel()), n8 = n / 8 * 8;
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256 v = _mm256_loadu_ps(xs + i);
    __m256 r;
    if (act == 0) r = _mm256_div_ps(v, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, v))));
    else if (act == 3) r = _mm256_max_ps(v, zero);
    else {
      const __m256 p = _mm256_max_ps(v, zero);
      r = _mm256_mul_ps(p, p);
    }
    _mm256_storeu_ps(o + i, r);
  }
  for (int64_t i = n8; i < n; ++i) {
    const float v = xs[i];
    o[i] = act == 0 ? v / (1.0f + std::exp(-v)) : act == 3 ? std::max(v, 0.0f) : std::max(v, 0.0f) * std::max(v, 0.0f);
  }
  return true;
}

__attribute__((target("avx2,fma"))) bool rope_fast(const Tensor& x, const std::vector<float>& inv_freq, int64_t past,
                                                   Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), hd = x.dim(3), half = hd / 2;
  if (!have_avx2() || half % 8 != 0) return false;
#pragma omp parallel
  {
    std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t i = 0; i < half; ++i) {  // angles in float32, as the reference
          const float a = static_cast<float>(past + t) * inv_freq[static_cast<size_t>(i)];
          cs[i] = std::cos(a);
          sn[i] = std::sin(a);
        }
        for (int64_t h = 0; h < H; ++h) {
          const float* xs = x.data<float>() + ((b * T + t) * H + h) * hd;
          float* o = out.data<float>() + ((b * T + t) * H + h) * hd;
          for (int64_t i = 0; i < half; i += 8) {
            const __m256 lo = _mm256_loadu_ps(xs + i), hi = _mm256_loadu_ps(xs + half + i);
            const __m256 c = _mm256_loadu_ps(cs.data() + i), s = _mm256_loadu_ps(sn.data() + i);
            _mm256_storeu_ps(o + i, _mm256_fmsub_ps(lo, c, _mm256_mul_ps(hi, s)));
            _mm256_storeu_ps(o + half + i, _mm256_fmadd_ps(hi, c, _mm256_mul_ps(lo, s)));
          }
        }
      }
  }
  return true;
}

}  // namespace anatomy::cpu
