// Small AVX2 helpers shared by the *_avx2.cpp kernels. Include only from files compiled with
// -mavx2 -mfma -mf16c (CMakeLists.txt), whose functions run after a have_avx2() check.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "core/dtype.h"

namespace anatomy::cpu::avx2 {

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Elements i … i+7 of an F32, BF16 or F16 array as floats (bf16 is the high half of an f32).
template <DType D>
inline __m256 widen8(const void* p, int64_t i) {
  if constexpr (D == DType::F32) return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i));
  if constexpr (D == DType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

}  // namespace anatomy::cpu::avx2
