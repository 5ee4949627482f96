// AVX2 fast paths of the small kernels: embedding rows, RMSNorm, LayerNorm, gated grouped
// RMSNorm, residual add / multiply (with broadcast), SiLU / GELU (exact and tanh) / ReLU / ReLU²
// and RoPE. Same results as the references in kernels.cpp up to float
// rounding; tested against them in tests/backend.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

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

__attribute__((target("avx2,fma"))) inline __m256 silu8(__m256 v) {
  return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), odd-extended.
__attribute__((target("avx2,fma"))) inline __m256 erf8(__m256 x) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, _mm256_set1_ps(1.0f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  const __m256 y = _mm256_fnmadd_ps(p, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a))), _mm256_set1_ps(1.0f));
  return _mm256_or_ps(y, sign);
}

__attribute__((target("avx2,fma"))) inline __m256 tanh8(__m256 u) {  // 1 − 2/(e^{2u} + 1)
  const __m256 e = exp8(_mm256_add_ps(u, u));
  return _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
}

}  // namespace

__attribute__((target("avx2,fma,f16c"))) bool embedding_fast(const Tensor& weight, const Tensor& ids, Tensor& out) {
  if ((weight.dtype() != DType::BF16 && weight.dtype() != DType::F16)) return false;
  const int64_t d = weight.dim(1), V = weight.dim(0), d8 = d / 8 * 8;
  const bool bf16 = weight.dtype() == DType::BF16;
  for (uint64_t i = 0; i < ids.numel(); ++i) {
    const int64_t id = std::clamp<int64_t>(ids.dtype() == DType::I64 ? ids.data<int64_t>()[i] : ids.data<int32_t>()[i], 0, V - 1);
    const uint16_t* row = weight.data<uint16_t>() + id * d;
    float* o = out.data<float>() + static_cast<int64_t>(i) * d;
    for (int64_t j = 0; j < d8; j += 8)
      _mm256_storeu_ps(o + j, bf16 ? avx2::widen8<DType::BF16>(row, j) : avx2::widen8<DType::F16>(row, j));
    for (int64_t j = d8; j < d; ++j) o[j] = load(weight, static_cast<uint64_t>(id * d + j));
  }
  return true;
}

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

__attribute__((target("avx2,fma"))) bool binary_fast(const Tensor& a, const std::vector<float>& b, int op, Tensor& out) {
  const auto bn = static_cast<int64_t>(b.size()), n = static_cast<int64_t>(a.numel());
  if (bn % 8 != 0) return false;
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

// act: 0 silu, 1 gelu (exact), 2 gelu (tanh), 3 relu, 4 relu² (softplus stays on the reference).
__attribute__((target("avx2,fma"))) bool activation_fast(const Tensor& x, int act, Tensor& out) {
  if (act > 4) return false;
  const auto n = static_cast<int64_t>(x.numel()), n8 = n / 8 * 8;
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n8; i += 8) {
    const __m256 v = _mm256_loadu_ps(xs + i);
    __m256 r;
    const __m256 half_v = _mm256_mul_ps(_mm256_set1_ps(0.5f), v);
    if (act == 0) r = silu8(v);
    else if (act == 1) r = _mm256_mul_ps(half_v, _mm256_add_ps(one, erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678f)))));
    else if (act == 2) {
      const __m256 cube = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
      const __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.7978845608f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), cube, v));
      r = _mm256_mul_ps(half_v, _mm256_add_ps(one, tanh8(u)));
    } else if (act == 3) r = _mm256_max_ps(v, zero);
    else {
      const __m256 p = _mm256_max_ps(v, zero);
      r = _mm256_mul_ps(p, p);
    }
    _mm256_storeu_ps(o + i, r);
  }
  if (n8 < n) {  // the tail through the reference, on a view of the last elements
    Tensor tail_in = Tensor::empty(DType::F32, {n - n8}), tail_out = Tensor::empty(DType::F32, {n - n8});
    std::copy(xs + n8, xs + n, tail_in.data<float>());
    activation_reference(tail_in, act, tail_out);
    std::copy(tail_out.data<float>(), tail_out.data<float>() + (n - n8), o + n8);
  }
  return true;
}

__attribute__((target("avx2,fma"))) bool rope_fast(const Tensor& x, const std::vector<float>& inv_freq, int64_t past,
                                                   Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), hd = x.dim(3), half = hd / 2;
  if (half % 8 != 0) return false;
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
