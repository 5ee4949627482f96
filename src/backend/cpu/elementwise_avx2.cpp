// AVX2 fast paths of residual add / multiply (with broadcast), SiLU / GELU (exact and tanh) / ReLU /
// ReLU² / softplus and RoPE. Same results as the references in elementwise.cpp up to float
// rounding; tested against them in tests/ops.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

using namespace avx2;

__attribute__((target("avx2,fma"))) bool binary_fast(const Tensor& a, const float* b, int64_t bn, BinaryOp op,
                                                     Tensor& out) {
  const auto n = static_cast<int64_t>(a.numel());
  if (bn % 8 != 0) return false;
  const float* as = a.data<float>();
  float* o = out.data<float>();
  // Threads split the elements: by rows of b when it broadcasts, over the whole tensor when it does
  // not (one row: a residual add, gate ⊙ up).
  const int64_t R = n / bn, row = R == 1 ? 8 : bn;
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; i += row)
    for (int64_t j = 0; j < row; j += 8) {
      const __m256 x = _mm256_loadu_ps(as + i + j), y = _mm256_loadu_ps(b + (R == 1 ? i : 0) + j);
      _mm256_storeu_ps(o + i + j, op == BinaryOp::add ? _mm256_add_ps(x, y) : _mm256_mul_ps(x, y));
    }
  return true;
}

namespace {

template <Activation A>
__attribute__((target("avx2,fma"))) void activation_body(const float* xs, float* o, int64_t n8) {
#pragma omp parallel for schedule(static) if (n8 > kParallelElements)
  for (int64_t i = 0; i < n8; i += 8) _mm256_storeu_ps(o + i, activation8<A>(_mm256_loadu_ps(xs + i)));
}

}  // namespace

// softplus stays on the reference.
bool activation_fast(const Tensor& x, Activation act, Tensor& out) {
  const auto n = static_cast<int64_t>(x.numel()), n8 = n / 8 * 8;
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  if (!with_vector_activation(act, [&](auto a) { activation_body<decltype(a)::value>(xs, o, n8); })) return false;
  if (n8 < n) {  // the tail through the reference, on a view of the last elements
    Tensor tail_in = Tensor::empty(DType::F32, {n - n8}), tail_out = Tensor::empty(DType::F32, {n - n8});
    std::copy(xs + n8, xs + n, tail_in.data<float>());
    activation_reference(tail_in, act, tail_out);
    std::copy(tail_out.data<float>(), tail_out.data<float>() + (n - n8), o + n8);
  }
  return true;
}

namespace {

// act'(v) for SiLU, exact GELU and ReLU.
template <Activation A>
__attribute__((target("avx2,fma"))) inline __m256 slope8(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps(), half = _mm256_set1_ps(0.5f);
  if constexpr (A == Activation::silu) {  // s·(1 + v·(1 − s)), s = σ(v)
    const __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, v))));
    return _mm256_mul_ps(s, _mm256_fmadd_ps(v, _mm256_sub_ps(one, s), one));
  } else if constexpr (A == Activation::gelu) {  // Φ(v) + v·φ(v); Φ's erf and φ share e^{−v²/2}
    const __m256 e = exp8(_mm256_mul_ps(_mm256_set1_ps(-0.5f), _mm256_mul_ps(v, v)));
    const __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(one, erf8_given_exp(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678f)), e)));
    const __m256 pdf = _mm256_mul_ps(_mm256_set1_ps(0.39894228f), e);
    return _mm256_fmadd_ps(v, pdf, cdf);
  } else {
    return _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), one);
  }
}

template <Activation A>
__attribute__((target("avx2,fma"))) void activation_backward_body(const float* xs, const float* g, float* d, int64_t n8) {
#pragma omp parallel for schedule(static) if (n8 > kParallelElements)
  for (int64_t i = 0; i < n8; i += 8)
    _mm256_storeu_ps(d + i, _mm256_fmadd_ps(_mm256_loadu_ps(g + i), slope8<A>(_mm256_loadu_ps(xs + i)), _mm256_loadu_ps(d + i)));
}

}  // namespace

// dx += dy·act'(x) for SiLU, exact GELU and ReLU (training); the others stay on the reference.
bool activation_backward_fast(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx) {
  if (act != Activation::silu && act != Activation::gelu && act != Activation::relu) return false;
  const auto n = static_cast<int64_t>(x.numel()), n8 = n / 8 * 8;
  const float *xs = x.data<float>(), *g = dy.data<float>();
  float* d = dx.data<float>();
  if (act == Activation::silu) activation_backward_body<Activation::silu>(xs, g, d, n8);
  else if (act == Activation::gelu) activation_backward_body<Activation::gelu>(xs, g, d, n8);
  else activation_backward_body<Activation::relu>(xs, g, d, n8);
  if (n8 < n) {  // the tail through the reference
    Tensor tx = Tensor::empty(DType::F32, {n - n8}), tg = Tensor::empty(DType::F32, {n - n8}),
           td = Tensor::empty(DType::F32, {n - n8});
    std::copy(xs + n8, xs + n, tx.data<float>());
    std::copy(g + n8, g + n, tg.data<float>());
    std::copy(d + n8, d + n, td.data<float>());
    activation_backward_reference(tx, act, tg, td);
    std::copy(td.data<float>(), td.data<float>() + (n - n8), d + n8);
  }
  return true;
}

__attribute__((target("avx2,fma"))) bool rope_fast(const Tensor& x, const std::vector<float>& inv_freq, int64_t past,
                                                   Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), hd = x.dim(3), half = hd / 2;
  if (half % 8 != 0) return false;
#pragma omp parallel if (static_cast<int64_t>(x.numel()) > kParallelElements)
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
