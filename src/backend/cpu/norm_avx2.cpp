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

namespace {

// A row's mean and 1/√(variance + eps) (two passes), each in all 8 lanes; d % 8 == 0.
struct Moments {
  __m256 mean, rstd;
};
__attribute__((target("avx2,fma"))) Moments layer_norm_moments(const float* xs, int64_t d, float eps) {
  __m256 s = _mm256_setzero_ps();
  for (int64_t j = 0; j < d; j += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(xs + j));
  const __m256 mean = _mm256_set1_ps(hsum8(s) / static_cast<float>(d));
  __m256 v = _mm256_setzero_ps();
  for (int64_t j = 0; j < d; j += 8) {
    const __m256 c = _mm256_sub_ps(_mm256_loadu_ps(xs + j), mean);
    v = _mm256_fmadd_ps(c, c, v);
  }
  return {mean, _mm256_set1_ps(1.0f / std::sqrt(hsum8(v) / static_cast<float>(d) + eps))};
}

}  // namespace

__attribute__((target("avx2,fma"))) bool layer_norm_fast(const Tensor& x, const std::vector<float>& w,
                                                         const std::vector<float>& b, float eps, Tensor& out) {
  const int64_t d = x.dim(-1), rows = static_cast<int64_t>(x.numel()) / d;
  if (d % 8 != 0) return false;
#pragma omp parallel for schedule(static) if (rows * d > kParallelElements)
  for (int64_t r = 0; r < rows; ++r) {
    const float* xs = x.data<float>() + r * d;
    float* o = out.data<float>() + r * d;
    const auto [m, inv] = layer_norm_moments(xs, d, eps);
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
#pragma omp parallel for schedule(static) if (rows * d > kParallelElements)
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
#pragma omp parallel for schedule(static) if (rows * d > kParallelElements)
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

// rms_norm_backward_reference's formulas, each row in float: dx += r·w∘g − x·r³·mean(x∘w∘g),
// dw += Σ_rows g∘x·r.
__attribute__((target("avx2,fma"))) bool rms_norm_backward_fast(const Tensor& x, const Tensor& w, float eps,
                                                                const Tensor& dy, Tensor& dx, Tensor* dw) {
  const int64_t C = last(x), R = rows(x);
  if (C % 8 != 0) return false;
  const std::vector<float> wf = floats(w);
  const float *X = x.data<float>(), *G = dy.data<float>();
  float* D = dx.data<float>();
  column_sums(R, C, dw ? dw->data<float>() : nullptr, [&](int64_t r, float* dws) {
    const float *xs = X + r * C, *g = G + r * C;
    float* d = D + r * C;
    __m256 ss = _mm256_setzero_ps(), xg = _mm256_setzero_ps();
    for (int64_t j = 0; j < C; j += 8) {
      const __m256 v = _mm256_loadu_ps(xs + j);
      ss = _mm256_fmadd_ps(v, v, ss);
      xg = _mm256_fmadd_ps(v, _mm256_mul_ps(_mm256_loadu_ps(wf.data() + j), _mm256_loadu_ps(g + j)), xg);
    }
    const float inv = 1.0f / std::sqrt(hsum8(ss) / static_cast<float>(C) + eps);
    const __m256 vinv = _mm256_set1_ps(inv), k = _mm256_set1_ps(inv * inv * inv * hsum8(xg) / static_cast<float>(C));
    for (int64_t j = 0; j < C; j += 8) {
      const __m256 v = _mm256_loadu_ps(xs + j), gj = _mm256_loadu_ps(g + j);
      const __m256 wg = _mm256_mul_ps(_mm256_loadu_ps(wf.data() + j), gj);
      _mm256_storeu_ps(d + j, _mm256_add_ps(_mm256_loadu_ps(d + j), _mm256_fnmadd_ps(v, k, _mm256_mul_ps(vinv, wg))));
      if (dws) _mm256_storeu_ps(dws + j, _mm256_fmadd_ps(_mm256_mul_ps(gj, v), vinv, _mm256_loadu_ps(dws + j)));
    }
  });
  return true;
}

// layer_norm_backward_reference's formulas, each row in float: with x̂ = (x − μ)·rstd and g = w∘dy,
// dx += rstd·(g − mean(g) − x̂·mean(g∘x̂)); dw += Σ dy∘x̂, db += Σ dy.
__attribute__((target("avx2,fma"))) bool layer_norm_backward_fast(const Tensor& x, const Tensor& w, float eps,
                                                                  const Tensor& dy, Tensor& dx, Tensor* dw,
                                                                  Tensor* dbias) {
  const int64_t C = last(x), R = rows(x);
  if (C % 8 != 0) return false;
  const std::vector<float> wf = floats(w);
  const float *X = x.data<float>(), *G = dy.data<float>();
  float* D = dx.data<float>();
  std::vector<float> sums(static_cast<size_t>(2 * C));  // dw then db
  column_sums(R, 2 * C, sums.data(), [&](int64_t r, float* acc) {
    const float *xs = X + r * C, *g = G + r * C;
    float* d = D + r * C;
    const auto [mean, rstd] = layer_norm_moments(xs, C, eps);
    __m256 mg = _mm256_setzero_ps(), mgx = _mm256_setzero_ps();
    for (int64_t j = 0; j < C; j += 8) {
      const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xs + j), mean), rstd);
      const __m256 gw = _mm256_mul_ps(_mm256_loadu_ps(g + j), _mm256_loadu_ps(wf.data() + j));
      mg = _mm256_add_ps(mg, gw);
      mgx = _mm256_fmadd_ps(gw, xh, mgx);
    }
    const __m256 vmg = _mm256_set1_ps(hsum8(mg) / static_cast<float>(C)),
                 vmgx = _mm256_set1_ps(hsum8(mgx) / static_cast<float>(C));
    for (int64_t j = 0; j < C; j += 8) {
      const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xs + j), mean), rstd);
      const __m256 gj = _mm256_loadu_ps(g + j);
      const __m256 gw = _mm256_mul_ps(gj, _mm256_loadu_ps(wf.data() + j));
      const __m256 inner = _mm256_fnmadd_ps(xh, vmgx, _mm256_sub_ps(gw, vmg));
      _mm256_storeu_ps(d + j, _mm256_fmadd_ps(rstd, inner, _mm256_loadu_ps(d + j)));
      _mm256_storeu_ps(acc + j, _mm256_fmadd_ps(gj, xh, _mm256_loadu_ps(acc + j)));
      _mm256_storeu_ps(acc + C + j, _mm256_add_ps(gj, _mm256_loadu_ps(acc + C + j)));
    }
  });
  if (dw) for (int64_t j = 0; j < C; ++j) dw->data<float>()[j] += sums[j];
  if (dbias) for (int64_t j = 0; j < C; ++j) dbias->data<float>()[j] += sums[C + j];
  return true;
}

}  // namespace anatomy::cpu
