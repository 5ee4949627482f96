// Small AVX2 helpers shared by the *_avx2.cpp kernels. Include only from files compiled with
// -mavx2 -mfma -mf16c (CMakeLists.txt), whose functions run after a have_avx2() check.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/dtype.h"
#include "core/kinds.h"

namespace anatomy::cpu::avx2 {

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

// Elements i … i+7 of an F32, BF16 or F16 array as floats (bf16 is the high half of an f32).
template <DType D>
inline __m256 widen8(const void* p, int64_t i) {
  if constexpr (D == DType::F32) return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i));
  if constexpr (D == DType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
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

__attribute__((target("avx2,fma"))) inline __m256 silu8(__m256 v) {
  return _mm256_div_ps(v, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7), odd-extended; e_minus_a2 = e^{−x²}.
__attribute__((target("avx2,fma"))) inline __m256 erf8_given_exp(__m256 x, __m256 e_minus_a2) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, _mm256_set1_ps(1.0f)));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  const __m256 y = _mm256_fnmadd_ps(p, e_minus_a2, _mm256_set1_ps(1.0f));
  return _mm256_or_ps(y, sign);
}

__attribute__((target("avx2,fma"))) inline __m256 erf8(__m256 x) {
  return erf8_given_exp(x, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(x, x))));
}

__attribute__((target("avx2,fma"))) inline __m256 tanh8(__m256 u) {  // 1 − 2/(e^{2u} + 1)
  const __m256 e = exp8(_mm256_add_ps(u, u));
  return _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
}

// Every activation with a vector form (kernels.h: has_vector_form), eight lanes at a time: the one
// definition the element-wise kernel and the gated GEMM's epilogue share. The activation is a
// template argument: loops over many vectors are instantiated per activation (with a runtime
// switch per vector GCC neither hoisted the switch nor the constants: GELU over 512 × 256 floats
// took 140 µs instead of 80; bench/RESULTS.md, stop 27).
template <Activation A>
__attribute__((target("avx2,fma"))) inline __m256 activation8(__m256 v) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  if constexpr (A == Activation::silu) return silu8(v);
  if constexpr (A == Activation::gelu)
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(one, erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678f)))));
  if constexpr (A == Activation::gelu_tanh) {
    const __m256 cube = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    const __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.7978845608f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), cube, v));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(one, tanh8(u)));
  }
  if constexpr (A == Activation::relu) return _mm256_max_ps(v, zero);
  if constexpr (A == Activation::relu2) {
    const __m256 p = _mm256_max_ps(v, zero);
    return _mm256_mul_ps(p, p);
  }
  return v;  // softplus has no vector form (has_vector_form is false): never instantiated by a caller
}

// g[i] = act(g[i])·u[i] for i < n (n a multiple of 8, both arrays 32-byte aligned): the gated
// MLP's epilogue, shared by the packed GEMM and the decode GEMVs.
template <Activation A>
__attribute__((target("avx2,fma"))) inline void gate_in_place(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; i += 8)
    _mm256_store_ps(g + i, _mm256_mul_ps(activation8<A>(_mm256_load_ps(g + i)), _mm256_load_ps(u + i)));
}

}  // namespace anatomy::cpu::avx2
