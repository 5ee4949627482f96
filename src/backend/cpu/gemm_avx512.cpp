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
#endif
template <DType D>
__attribute__((target("avx512f,avx512bw,fma,f16c"))) inline __m512 load16(const void* w, int64_t i) {
  if constexpr (D == DType::F32) return _mm512_loadu_ps(static_cast<const float*>(w) + i);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(w) + i));
  if constexpr (D == DType::F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// One output of the GEMV; kept out of the OpenMP region so that its 512-bit vectors never cross
// a function boundary compiled without AVX-512 (clang's outlined parallel bodies).
template <DType D>
__attribute__((target("avx512f,avx512bw,fma,f16c"))) float dot512(const float* x, const void* wr, int64_t K) {
  const int64_t K64 = K / 64 * 64, K16 = K / 16 * 16;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t k = 0;
  for (; k < K64; k += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), load16<D>(wr, k), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), load16<D>(wr, k + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 32), load16<D>(wr, k + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 48), load16<D>(wr, k + 48), a3);
  }
  for (; k < K16; k += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), load16<D>(wr, k), a0);
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; k < K; ++k) {
    if constexpr (D == DType::F32) s += x[k] * static_cast<const float*>(wr)[k];
    else if constexpr (D == DType::F16) s += x[k] * f16_to_f32(static_cast<const uint16_t*>(wr)[k]);
    else s += x[k] * bf16_to_f32(static_cast<const uint16_t*>(wr)[k]);
  }
  return s;
}

template <DType D>
void gemv512(const float* x, int64_t K, const Tensor& w, int64_t N, float* out) {
  const std::byte* wb = w.raw();
  const size_t row_bytes = static_cast<size_t>(K) * (D == DType::F32 ? 4 : 2);
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) out[n] = dot512<D>(x, wb + static_cast<size_t>(n) * row_bytes, K);
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
