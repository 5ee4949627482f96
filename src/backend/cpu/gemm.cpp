#include "backend/cpu/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <map>
#include <mutex>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

// ---- small M: stream weight rows, AVX2 + FMA + F16C --------------------------------------------

template <DType D>
__attribute__((target("avx2,fma,f16c"))) inline __m256 load8(const void* w, int64_t i) {
  if constexpr (D == DType::F32) return _mm256_loadu_ps(static_cast<const float*>(w) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i));
  if constexpr (D == DType::F16) return _mm256_cvtph_ps(h);
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));  // bf16: high half of f32
}

__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// M = 1 (decode): four independent FMA chains so that the loop is bound by memory, not by the
// FMA latency of a single accumulator.
template <DType D>
__attribute__((target("avx2,fma,f16c"))) void gemv(const float* x, int64_t K, const Tensor& w, int64_t N, float* out) {
  const std::byte* wb = w.raw();
  const size_t row_bytes = static_cast<size_t>(K) * (D == DType::F32 ? 4 : 2);
  const int64_t K32 = K / 32 * 32, K8 = K / 8 * 8;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const void* wr = wb + static_cast<size_t>(n) * row_bytes;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k < K32; k += 32) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8<D>(wr, k), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), load8<D>(wr, k + 8), a1);
      a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 16), load8<D>(wr, k + 16), a2);
      a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 24), load8<D>(wr, k + 24), a3);
    }
    for (; k < K8; k += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8<D>(wr, k), a0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; k < K; ++k) s += x[k] * load(w, static_cast<uint64_t>(n * K + k));
    out[n] = s;
  }
}

// The same GEMV with 512-bit vectors where the CPU has AVX-512 (runtime dispatch): half the
// conversion and FMA instructions per byte, which is what a memory-bound decode needs.
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on _mm512_undefined_*; not our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
template <DType D>
__attribute__((target("avx512f,avx512bw,fma,f16c"))) inline __m512 load16(const void* w, int64_t i) {
  if constexpr (D == DType::F32) return _mm512_loadu_ps(static_cast<const float*>(w) + i);
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(w) + i));
  if constexpr (D == DType::F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <DType D>
__attribute__((target("avx512f,avx512bw,fma,f16c"))) void gemv512(const float* x, int64_t K, const Tensor& w, int64_t N,
                                                                  float* out) {
  const std::byte* wb = w.raw();
  const size_t row_bytes = static_cast<size_t>(K) * (D == DType::F32 ? 4 : 2);
  const int64_t K64 = K / 64 * 64;
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const void* wr = wb + static_cast<size_t>(n) * row_bytes;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k < K64; k += 64) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k), load16<D>(wr, k), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 16), load16<D>(wr, k + 16), a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 32), load16<D>(wr, k + 32), a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + k + 48), load16<D>(wr, k + 48), a3);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; k < K; ++k) s += x[k] * load(w, static_cast<uint64_t>(n * K + k));
    out[n] = s;
  }
}

#pragma GCC diagnostic pop

bool have_avx512() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return ok;
}

// Half-precision rows [n0, n0+nb) of w converted to f32 (8 at a time).
template <DType D>
__attribute__((target("avx2,fma,f16c"))) void to_f32(const Tensor& w, int64_t n0, int64_t nb, int64_t K, float* dst) {
  const auto* src = w.data<uint16_t>() + n0 * K;
  const int64_t n = nb * K, n8 = n / 8 * 8;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n8; i += 8) _mm256_storeu_ps(dst + i, load8<D>(src, i));
  for (int64_t i = n8; i < n; ++i) dst[i] = load(w, static_cast<uint64_t>(n0 * K + i));
}

// out[m, n] = Σ_k x[m, k]·w[n, k], register-blocked 4 inputs × 2 weight rows: each 8-wide step
// loads 2 weight vectors and 4 input vectors for 8 FMAs (AVX2 has 16 registers: 8 accumulate).
template <DType D>
__attribute__((target("avx2,fma,f16c"))) void small_m(const float* x, int64_t M, int64_t K, const Tensor& w,
                                                      int64_t N, float* out) {
  const std::byte* wb = w.raw();
  const size_t row_bytes = static_cast<size_t>(K) * (D == DType::F32 ? 4 : 2);
  const int64_t K8 = K / 8 * 8;
#pragma omp parallel for schedule(static)
  for (int64_t n0 = 0; n0 < N; n0 += 2) {
    const int64_t nb = std::min<int64_t>(2, N - n0);
    const void* w0 = wb + static_cast<size_t>(n0) * row_bytes;
    const void* w1 = wb + static_cast<size_t>(n0 + nb - 1) * row_bytes;  // = w0 when nb == 1
    for (int64_t m0 = 0; m0 < M; m0 += 4) {
      const int64_t mb = std::min<int64_t>(4, M - m0);
      const float* xr[4];
      for (int64_t i = 0; i < 4; ++i) xr[i] = x + (m0 + std::min(i, mb - 1)) * K;
      __m256 a00 = _mm256_setzero_ps(), a10 = a00, a20 = a00, a30 = a00, a01 = a00, a11 = a00, a21 = a00, a31 = a00;
      for (int64_t k = 0; k < K8; k += 8) {
        const __m256 v0 = load8<D>(w0, k), v1 = load8<D>(w1, k);
        __m256 xv = _mm256_loadu_ps(xr[0] + k);
        a00 = _mm256_fmadd_ps(xv, v0, a00);
        a01 = _mm256_fmadd_ps(xv, v1, a01);
        xv = _mm256_loadu_ps(xr[1] + k);
        a10 = _mm256_fmadd_ps(xv, v0, a10);
        a11 = _mm256_fmadd_ps(xv, v1, a11);
        xv = _mm256_loadu_ps(xr[2] + k);
        a20 = _mm256_fmadd_ps(xv, v0, a20);
        a21 = _mm256_fmadd_ps(xv, v1, a21);
        xv = _mm256_loadu_ps(xr[3] + k);
        a30 = _mm256_fmadd_ps(xv, v0, a30);
        a31 = _mm256_fmadd_ps(xv, v1, a31);
      }
      const __m256 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
      for (int64_t i = 0; i < mb; ++i)
        for (int64_t j = 0; j < nb; ++j) {
          float s = hsum(acc[i][j]);
          for (int64_t k = K8; k < K; ++k) s += xr[i][k] * load(w, static_cast<uint64_t>((n0 + j) * K + k));
          out[(m0 + i) * N + n0 + j] = s;
        }
    }
  }
}

// ---- large M: oneDNN matmul ------------------------------------------------------------------

struct Dnnl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mu;
  // (M, N, K, ldc, W stored [K, N]) -> primitive
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>, dnnl::matmul> cache;

  dnnl::matmul& get(int64_t M, int64_t N, int64_t K, int64_t ldc, bool w_in_out) {
    std::lock_guard<std::mutex> lock(mu);
    auto key = std::make_tuple(M, N, K, ldc, w_in_out);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc a({M, K}, dt::f32, dnnl::memory::dims{K, 1});
    // nn.Linear's [N, K] viewed as the K×N operand: element (k, n) at n·K + k.
    const dnnl::memory::desc b({K, N}, dt::f32, w_in_out ? dnnl::memory::dims{N, 1} : dnnl::memory::dims{1, K});
    const dnnl::memory::desc c({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine);
    return cache.emplace(key, dnnl::matmul(pd)).first->second;
  }

  void run(const float* x, const float* w, float* out, int64_t M, int64_t N, int64_t K, int64_t ldc, bool w_in_out) {
    auto& mm = get(M, N, K, ldc, w_in_out);
    using dt = dnnl::memory::data_type;
    dnnl::memory a({{M, K}, dt::f32, dnnl::memory::dims{K, 1}}, engine, const_cast<float*>(x));
    dnnl::memory b({{K, N}, dt::f32, w_in_out ? dnnl::memory::dims{N, 1} : dnnl::memory::dims{1, K}}, engine,
                   const_cast<float*>(w));
    dnnl::memory c({{M, N}, dt::f32, dnnl::memory::dims{ldc, 1}}, engine, out);
    mm.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
};

Dnnl& dnnl_state() {
  static Dnnl d;
  return d;
}

// Half-precision weights: convert 512 rows at a time to f32 and multiply that column block.
template <DType D>
void large_m_half(const float* x, int64_t M, int64_t K, const Tensor& w, int64_t N, float* out) {
  constexpr int64_t kBlock = 512;
  std::vector<float> scratch(static_cast<size_t>(std::min(kBlock, N) * K));
  for (int64_t n0 = 0; n0 < N; n0 += kBlock) {
    const int64_t nb = std::min(kBlock, N - n0);
    to_f32<D>(w, n0, nb, K, scratch.data());
    dnnl_state().run(x, scratch.data(), out + n0, M, nb, K, N, false);
  }
}

}  // namespace

bool have_avx2() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  return ok;
}

void set_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

int threads() { return omp_get_max_threads(); }

bool linear_fast(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) {
  const DType d = w.dtype();
  if (d != DType::F32 && d != DType::BF16 && d != DType::F16) return false;
  const int64_t K = x.dim(-1), N = out.dim(-1), M = static_cast<int64_t>(x.numel()) / K;
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  if (w_in_out) {
    if (d != DType::F32) return false;
    dnnl_state().run(xs, w.data<float>(), o, M, N, K, N, true);
  } else if (M == 1 && have_avx512()) {
    if (d == DType::F32) gemv512<DType::F32>(xs, K, w, N, o);
    else if (d == DType::BF16) gemv512<DType::BF16>(xs, K, w, N, o);
    else gemv512<DType::F16>(xs, K, w, N, o);
  } else if (M == 1 && have_avx2()) {
    if (d == DType::F32) gemv<DType::F32>(xs, K, w, N, o);
    else if (d == DType::BF16) gemv<DType::BF16>(xs, K, w, N, o);
    else gemv<DType::F16>(xs, K, w, N, o);
  } else if (M <= kSmallM && d != DType::F32 && have_avx2()) {
    if (d == DType::F32) small_m<DType::F32>(xs, M, K, w, N, o);
    else if (d == DType::BF16) small_m<DType::BF16>(xs, M, K, w, N, o);
    else small_m<DType::F16>(xs, M, K, w, N, o);
  } else if (d == DType::F32) {
    dnnl_state().run(xs, w.data<float>(), o, M, N, K, N, false);
  } else if (!have_avx2()) {
    return false;
  } else if (d == DType::BF16) {
    large_m_half<DType::BF16>(xs, M, K, w, N, o);
  } else {
    large_m_half<DType::F16>(xs, M, K, w, N, o);
  }
  if (bias) {
    std::vector<float> b(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) b[n] = load(*bias, static_cast<uint64_t>(n));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) o[m * N + n] += b[n];
  }
  return true;
}

}  // namespace anatomy::cpu
