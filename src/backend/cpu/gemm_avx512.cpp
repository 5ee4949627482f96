// AVX-512 GEMV for decode (compiled with AVX-512 flags; callers check have_avx512() first).
#include <immintrin.h>

#include "backend/cpu/gemm_kernels.h"
#include "core/half.h"

namespace anatomy::cpu {
namespace {

// The same GEMV with 512-bit vectors where the CPU has AVX-512 (runtime dispatch): half the
// conversion and FMA instructions per byte, which is what a memory-bound decode needs.
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on _mm512_undefined_*; not our code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
template <DType D>
__attribute__((target("avx512f,avx512bw,fma,f16c"))) inline __m512 load16(const void* w, int64_t i) {
  if constexpr (D == DType::F32) return _mm512_loadu_ps(static_cast<const float*>(w) + i);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(w) + i));
  if constexpr (D == DType::F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// out[r] = x·w_r for the R rows from n0: several rows at a time, as gemm_avx2.cpp's GEMV explains
// (one row at a time read a bf16 weight at ~70 % of the read probe's rate, six rows at 92–95 %,
// eight — 16 of the 32 registers accumulating — at 96–97 %); kept out of
// the OpenMP region so that its 512-bit vectors never cross a function boundary compiled without
// AVX-512 (clang's outlined parallel bodies).
// The `ahead` (0–2) groups of R rows after them are prefetched, as gemm_avx2.cpp's GEMV explains.
template <DType D, int R>
__attribute__((target("avx512f,avx512bw,fma,f16c"))) void dot_rows512(const float* x, int64_t K, const void* w,
                                                                      int64_t n0, int ahead, float* out) {
  constexpr int64_t kElement = D == DType::F32 ? 4 : 2;
  const size_t row_bytes = static_cast<size_t>(K) * kElement;
  const std::byte* rows = static_cast<const std::byte*>(w) + static_cast<size_t>(n0) * row_bytes;
  const std::byte* next = rows + R * row_bytes;
  const int64_t K32 = K / 32 * 32;
  __m512 acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K32; k += 32) {
    for (int64_t b = 0; ahead > 0 && b < 32 * kElement; b += 64) {  // a step reads 64 (half) or 128 (F32) bytes a row
      const char* p = reinterpret_cast<const char*>(next + k * kElement + b);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) _mm_prefetch(p + r * row_bytes, _MM_HINT_T1);
      if (ahead > 1)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) _mm_prefetch(p + (R + r) * row_bytes, _MM_HINT_T2);
    }
    const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc[r][0] = _mm512_fmadd_ps(x0, load16<D>(rows + r * row_bytes, k), acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(x1, load16<D>(rows + r * row_bytes, k + 16), acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    const void* wr = rows + r * row_bytes;
    float s = _mm512_reduce_add_ps(_mm512_add_ps(acc[r][0], acc[r][1]));
    for (int64_t k = K32; k < K; ++k) {
      if constexpr (D == DType::F32) s += x[k] * static_cast<const float*>(wr)[k];
      else if constexpr (D == DType::F16) s += x[k] * f16_to_f32(static_cast<const uint16_t*>(wr)[k]);
      else s += x[k] * bf16_to_f32(static_cast<const uint16_t*>(wr)[k]);
    }
    out[n0 + r] = s;
  }
}

constexpr int64_t kGemvRows = 8;  // see dot_rows512

template <DType D>
void gemv512(const float* x, int64_t K, const Tensor& w, int64_t N, float* out) {
  const int64_t groups = (N + kGemvRows - 1) / kGemvRows;
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t n0 = g * kGemvRows;
    if (n0 + kGemvRows <= N) dot_rows512<D, kGemvRows>(x, K, w.raw(), n0, groups_after(N, n0, kGemvRows), out);
    else
      for (int64_t n = n0; n < N; ++n) dot_rows512<D, 1>(x, K, w.raw(), n, 0, out);
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

void gemv_avx512(const float* x, int64_t K, const Tensor& w, int64_t N, float* out) {
  if (w.dtype() == DType::F32) gemv512<DType::F32>(x, K, w, N, out);
  else if (w.dtype() == DType::BF16) gemv512<DType::BF16>(x, K, w, N, out);
  else gemv512<DType::F16>(x, K, w, N, out);
}

}  // namespace anatomy::cpu
