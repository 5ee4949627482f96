// AVX2 + FMA + F16C kernels of the linear fast path (compiled with those flags; callers check
// have_avx2() first): GEMV for decode, the register-blocked small-M kernel, small strided GEMMs,
// half -> f32 widening.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/gemm_kernels.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

// M = 1 (decode) is bound by memory, so the GEMV must keep the memory system busy with as few
// instructions per byte as it can. bench/gemv_forms.cpp times the forms tried, each pass beside a
// pass of `anatomy device`'s read probe (this host's bandwidth moves between ~30 and ~58 GB/s), on
// bf16 weights (bench/RESULTS.md, issue 15, stop 28):
//  - one row at a time (the kernel before) reads 2048-wide weights at 90–96 % of the probe but
//    8192-wide ones at 50–61 % (most likely because x, 32 KB of floats, no longer stays in L1
//    beside the stream);
//  - several rows at a time load x once for all of them, but without software prefetching six rows
//    read at 62–84 % (likely because each 2048-wide bf16 row is one 4 KB page, where the hardware
//    prefetcher starts over): the next two groups of rows are prefetched, the next into L2, the
//    one after with T2;
//  - two rows with that prefetching: 92–98 % at both widths, as good as or better than one or six
//    rows and than an AVX-512 form (77–89 %) — so this one kernel runs on both ISAs;
//  - bf16 widens by interleaving with zeros (one instruction per 8 elements instead of two); the
//    interleave's lane order is matched by x, permuted once per call.
// Stop 30, with the probe on huge pages (it had understated the machine by up to 15 %): the probe's
// own loop over the same weights read 97–99 % where two rows read 85–88 % in the host's fast
// phases (~60 GB/s). What a thread reads should be one sequential stream: half-precision weights
// of a loaded model are packed once into the panel form (gemm_kernels.h), 64 output columns × K
// with x broadcast per k — 98–100 % of the probe, where 16 columns (32 bytes a k) read 76–89 % in
// fast phases (stop 31); frozen f32 weights are read from the prefill's packed panels
// (gemm_packed_avx2.cpp); rows in place stay the form for weights that may change and for copies
// over the budget.
constexpr int64_t kGemvRows = 2;

// Elements k … k+15 of a weight row as two f32 vectors (for BF16 in bf16_order's order).
template <DType D>
__attribute__((target("avx2,fma,f16c"))) inline void widen16(const void* row, int64_t k, __m256& lo, __m256& hi) {
  if constexpr (D == DType::BF16) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(row) + k));
    lo = _mm256_castsi256_ps(_mm256_unpacklo_epi16(_mm256_setzero_si256(), v));
    hi = _mm256_castsi256_ps(_mm256_unpackhi_epi16(_mm256_setzero_si256(), v));
  } else {
    lo = avx2::widen8<D>(row, k);
    hi = avx2::widen8<D>(row, k + 8);
  }
}

// x[0, K16) in widen16's BF16 order: per 16 elements, unpacklo holds 0–3 and 8–11 (one 128-bit
// lane each), unpackhi 4–7 and 12–15.
std::vector<float> bf16_order(const float* x, int64_t K16) {
  std::vector<float> xp(x, x + K16);
  for (int64_t k = 0; k < K16; k += 16)
    for (int64_t i = 0; i < 4; ++i) std::swap(xp[k + 4 + i], xp[k + 8 + i]);
  return xp;
}

// out[n0 + r] = x·w_{n0 + r} for r < R (xp: x in widen16's order), 16 elements a step into two
// accumulators a row, prefetching the `ahead` (0–2) groups of R rows that follow.
template <DType D, int R>
__attribute__((target("avx2,fma,f16c"))) void dot_rows(const float* xp, const float* x, int64_t K, const Tensor& w,
                                                       int64_t n0, int ahead, float* out) {
  constexpr int64_t kElement = D == DType::F32 ? 4 : 2;
  const size_t row_bytes = static_cast<size_t>(K) * kElement;
  const std::byte* rows = w.raw() + static_cast<size_t>(n0) * row_bytes;
  const int64_t K16 = K / 16 * 16;
  __m256 acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K16; k += 16) {
    if (ahead > 0 && k * kElement % 64 == 0) {  // every step (F32) or every other
      const char* p = reinterpret_cast<const char*>(rows + R * row_bytes + k * kElement);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) _mm_prefetch(p + r * row_bytes, _MM_HINT_T1);
      if (ahead > 1)
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) _mm_prefetch(p + (R + r) * row_bytes, _MM_HINT_T2);
    }
    const __m256 x0 = _mm256_loadu_ps(xp + k), x1 = _mm256_loadu_ps(xp + k + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      __m256 lo, hi;
      widen16<D>(rows + r * row_bytes, k, lo, hi);
      acc[r][0] = _mm256_fmadd_ps(x0, lo, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(x1, hi, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float s = avx2::hsum8(_mm256_add_ps(acc[r][0], acc[r][1]));
    for (int64_t k = K16; k < K; ++k) s += x[k] * load(w, static_cast<uint64_t>((n0 + r) * K + k));
    out[n0 + r] = s;
  }
}

// Rows [n0, n1) of w (N rows), kGemvRows at a time, prefetching within the range.
template <DType D>
void dot_range(const float* xp, const float* x, int64_t K, const Tensor& w, int64_t n0, int64_t n1, float* out) {
  int64_t n = n0;
  for (; n + kGemvRows <= n1; n += kGemvRows)
    dot_rows<D, kGemvRows>(xp, x, K, w, n, static_cast<int>(std::min<int64_t>(2, (n1 - n) / kGemvRows - 1)), out);
  for (; n < n1; ++n) dot_rows<D, 1>(xp, x, K, w, n, 0, out);
}

// This thread's rows [begin, end) of `rows` shared out statically in whole groups of kGemvRows.
std::pair<int64_t, int64_t> thread_rows(int64_t rows) {
  const int64_t groups = rows / kGemvRows, t = omp_get_thread_num(), threads = omp_get_num_threads();
  const int64_t begin = groups * t / threads * kGemvRows;
  return {begin, t + 1 == threads ? rows : groups * (t + 1) / threads * kGemvRows};
}

// x in the order dot_rows reads it (only BF16 reads x in another order).
template <DType D>
const float* ordered_x(const float* x, int64_t K, std::vector<float>& reordered) {
  if constexpr (D != DType::BF16) return x;
  reordered = bf16_order(x, K / 16 * 16);
  return reordered.data();
}

// One parallel region for every weight x meets (one: a plain linear; q/k/v: three): the rows of
// all of them, taken as one list, shared out among the threads, so that no thread waits at the end
// of each weight.
template <DType D>
void gemv(const float* x, int64_t K, const std::vector<GemvOutput>& outputs) {
  std::vector<float> reordered;
  const float* xp = ordered_x<D>(x, K, reordered);
  int64_t rows = 0;
  for (const GemvOutput& o : outputs) rows += o.N;
#pragma omp parallel
  {
    const auto [begin, end] = thread_rows(rows);
    int64_t offset = 0;  // of this weight's first row in the list
    for (const GemvOutput& o : outputs) {
      const int64_t n0 = std::clamp(begin - offset, int64_t{0}, o.N), n1 = std::clamp(end - offset, int64_t{0}, o.N);
      if (n0 < n1) dot_range<D>(xp, x, K, *o.w, n0, n1, o.out);
      offset += o.N;
    }
  }
}

// out[n] = act(x·gate_n)·(x·up_n): each thread reads its gate rows, then the same up rows, then
// combines the two while they are still in its cache; neither product is written to memory whole.
template <DType D, Activation A>
__attribute__((target("avx2,fma,f16c"))) void gated_gemv(const float* x, int64_t K, const Tensor& gate,
                                                         const Tensor& up, int64_t N, float* out) {
  std::vector<float> reordered;
  const float* xp = ordered_x<D>(x, K, reordered);
  std::vector<float> ups(static_cast<size_t>(N));
#pragma omp parallel
  {
    const auto [n0, n1] = thread_rows(N);
    dot_range<D>(xp, x, K, gate, n0, n1, out);
    dot_range<D>(xp, x, K, up, n0, n1, ups.data());
    for (int64_t n = n0; n < n1; n += 8) {
      alignas(32) float g[8] = {}, u[8] = {};  // the last vector may be partial
      const int64_t count = std::min<int64_t>(8, n1 - n);
      std::copy_n(out + n, count, g);
      std::copy_n(ups.data() + n, count, u);
      avx2::gate_in_place<A>(g, u, 8);
      std::copy_n(g, count, out + n);
    }
  }
}

// Columns j and j + 8 of a group of 16 in the panel form (gemm_kernels.h) as two f32 vectors:
// bf16 lanes hold column j in their low half and j + 8 in their high one (shift and mask widen
// them), f16 ones lie in order.
template <DType D>
__attribute__((target("avx2,fma,f16c"))) inline void widen_group(const uint16_t* p, __m256& lo, __m256& hi) {
  if constexpr (D == DType::BF16) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    lo = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    hi = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
  } else {
    lo = avx2::widen8<D>(p, 0);
    hi = avx2::widen8<D>(p, 8);
  }
}

// out[j] = x·w_j for the kGemvPanel columns of one panel: x broadcast per k, eight accumulators,
// one sequential read of the panel.
template <DType D>
__attribute__((target("avx2,fma,f16c"))) void panel_dot(const float* x, int64_t K, const uint16_t* panel, float* out) {
  constexpr int kGroups = kGemvPanel / 16;
  __m256 acc[2 * kGroups];  // every loop over it unrolled: GCC 12 otherwise stores it each k
#pragma GCC unroll 8
  for (int v = 0; v < 2 * kGroups; ++v) acc[v] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k, panel += kGemvPanel) {
    const __m256 xk = _mm256_broadcast_ss(x + k);
#pragma GCC unroll 4
    for (int g = 0; g < kGroups; ++g) {
      __m256 lo, hi;
      widen_group<D>(panel + 16 * g, lo, hi);
      acc[2 * g] = _mm256_fmadd_ps(xk, lo, acc[2 * g]);
      acc[2 * g + 1] = _mm256_fmadd_ps(xk, hi, acc[2 * g + 1]);
    }
  }
#pragma GCC unroll 8
  for (int v = 0; v < 2 * kGroups; ++v) _mm256_store_ps(out + 8 * v, acc[v]);
}

int64_t panels_of(int64_t N) { return (N + kGemvPanel - 1) / kGemvPanel; }

// One work item of decode's panel form: kGemvPanel columns of an output from one weight's panel,
// or (gated) act(gate)·up from a gate panel and the same columns' up panel.
struct GemvPanel {
  const uint16_t* w;
  const uint16_t* up;  // gated: the up weight's panel; nullptr otherwise
  float* out;
  int64_t columns;  // ≤ kGemvPanel
};

// The panels of every output of one input, as one list (read_panels). A: the gated panels'
// activation. The list is the caller thread's, reused token after token.
template <DType D, Activation A>
__attribute__((target("avx2,fma,f16c"))) void panel_gemv(const float* x, int64_t K,
                                                         const std::vector<GemvPanel>& panels) {
  read_panels(static_cast<int64_t>(panels.size()), [&](int64_t i) {
    const GemvPanel& p = panels[static_cast<size_t>(i)];
    alignas(32) float g[kGemvPanel], u[kGemvPanel];
    panel_dot<D>(x, K, p.w, g);
    if (p.up) {
      panel_dot<D>(x, K, p.up, u);
      avx2::gate_in_place<A>(g, u, kGemvPanel);
    }
    std::copy_n(g, p.columns, p.out);
  });
}

// The panels of a [N, K] weight (and its up weight when gated) writing out[N].
std::vector<GemvPanel>& add_gemv_panels(std::vector<GemvPanel>& panels, const uint16_t* w, const uint16_t* up,
                                        int64_t N, int64_t K, float* out) {
  for (int64_t p = 0; p < panels_of(N); ++p) {
    const int64_t offset = p * kGemvPanel * K;
    panels.push_back(
        {w + offset, up ? up + offset : nullptr, out + p * kGemvPanel, std::min(kGemvPanel, N - p * kGemvPanel)});
  }
  return panels;
}

std::vector<GemvPanel>& gemv_panel_list() {
  thread_local std::vector<GemvPanel> panels;
  panels.clear();
  return panels;
}

// Half-precision rows [n0, n0+nb) of w converted to f32 (8 at a time).
template <DType D>
__attribute__((target("avx2,fma,f16c"))) void to_f32(const Tensor& w, int64_t n0, int64_t nb, int64_t K, float* dst) {
  const auto* src = w.data<uint16_t>() + n0 * K;
  const int64_t n = nb * K, n8 = n / 8 * 8;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n8; i += 8) _mm256_storeu_ps(dst + i, avx2::widen8<D>(src, i));
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
        const __m256 v0 = avx2::widen8<D>(w0, k), v1 = avx2::widen8<D>(w1, k);
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
          float s = avx2::hsum8(acc[i][j]);
          for (int64_t k = K8; k < K; ++k) s += xr[i][k] * load(w, static_cast<uint64_t>((n0 + j) * K + k));
          out[(m0 + i) * N + n0 + j] = s;
        }
    }
  }
}


// C[M, N] (+)= A[M, K]·B[K, N] for GEMMs too small to pay for a oneDNN call (the per-head GEMMs of
// attention at training shapes: 32 × 32 × 16): B packed once into rows of N, then 4 rows of C × 16
// columns at a time in 8 accumulators, each k one broadcast of A per row and two loads of B.
template <int R>
__attribute__((target("avx2,fma"))) void small_gemm_rows(const float* A, int64_t a_rs, int64_t a_cs, const float* B,
                                                        int64_t ldb, int64_t N, int64_t K, float* C, int64_t ldc,
                                                        bool accumulate) {
  int64_t n0 = 0;
  for (; n0 + 16 <= N; n0 += 16) {
    __m256 acc[R][2];
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < 2; ++j)
        acc[r][j] = accumulate ? _mm256_loadu_ps(C + r * ldc + n0 + 8 * j) : _mm256_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
      const __m256 b0 = _mm256_loadu_ps(B + k * ldb + n0), b1 = _mm256_loadu_ps(B + k * ldb + n0 + 8);
      for (int r = 0; r < R; ++r) {
        const __m256 a = _mm256_broadcast_ss(A + r * a_rs + k * a_cs);
        acc[r][0] = _mm256_fmadd_ps(a, b0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(a, b1, acc[r][1]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int j = 0; j < 2; ++j) _mm256_storeu_ps(C + r * ldc + n0 + 8 * j, acc[r][j]);
  }
  for (; n0 + 8 <= N; n0 += 8) {
    __m256 acc[R];
    for (int r = 0; r < R; ++r) acc[r] = accumulate ? _mm256_loadu_ps(C + r * ldc + n0) : _mm256_setzero_ps();
    for (int64_t k = 0; k < K; ++k) {
      const __m256 b = _mm256_loadu_ps(B + k * ldb + n0);
      for (int r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(A + r * a_rs + k * a_cs), b, acc[r]);
    }
    for (int r = 0; r < R; ++r) _mm256_storeu_ps(C + r * ldc + n0, acc[r]);
  }
  for (; n0 < N; ++n0)
    for (int r = 0; r < R; ++r) {
      float s = accumulate ? C[r * ldc + n0] : 0.0f;
      for (int64_t k = 0; k < K; ++k) s += A[r * a_rs + k * a_cs] * B[k * ldb + n0];
      C[r * ldc + n0] = s;
    }
}

// dst [K, N] (row stride N) from a source holding element (k, n) at n·src_rs + k — a transposed
// operand such as attention's Kᵀ — by 8 × 8 register transposes, the tails element by element.
__attribute__((target("avx2,fma"))) void pack_transposed(const float* src, int64_t src_rs, int64_t K, int64_t N,
                                                        float* dst) {
  int64_t n0 = 0;
  for (; n0 + 8 <= N; n0 += 8) {
    int64_t k0 = 0;
    for (; k0 + 8 <= K; k0 += 8) {
      __m256 r[8], t[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (n0 + i) * src_rs + k0);  // row i: n0 + i, k0 … k0+7
      for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
      }
      for (int i = 0; i < 8; i += 4)
        for (int j = 0; j < 2; ++j) {
          r[i + j] = _mm256_shuffle_ps(t[i + j], t[i + j + 2], _MM_SHUFFLE(1, 0, 1, 0));
          r[i + j + 2] = _mm256_shuffle_ps(t[i + j], t[i + j + 2], _MM_SHUFFLE(3, 2, 3, 2));
        }
      // r[0] r[2] r[1] r[3] hold columns 0 4, 1 5, 2 6, 3 7 of rows 0–3 (low lanes) and 4–7 (high).
      const int order[4] = {0, 2, 1, 3};
      for (int c = 0; c < 4; ++c) {
        const __m256 lo = r[order[c]], hi = r[order[c] + 4];
        _mm256_storeu_ps(dst + (k0 + c) * N + n0, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(dst + (k0 + c + 4) * N + n0, _mm256_permute2f128_ps(lo, hi, 0x31));
      }
    }
    for (; k0 < K; ++k0)
      for (int64_t n = n0; n < n0 + 8; ++n) dst[k0 * N + n] = src[n * src_rs + k0];
  }
  for (; n0 < N; ++n0)
    for (int64_t k = 0; k < K; ++k) dst[k * N + n0] = src[n0 * src_rs + k];
}

// rows[i] holds elements k0 … k0+7 of row i (i < 8); after, rows[k] holds element k0 + k of rows
// 0 … 7: unpacks at 16, 32 and 64 bits.
void transpose8x8_epi16(__m128i rows[8]) {
  __m128i s[8], u[8];
  for (int i = 0; i < 4; ++i) {
    s[2 * i] = _mm_unpacklo_epi16(rows[2 * i], rows[2 * i + 1]);
    s[2 * i + 1] = _mm_unpackhi_epi16(rows[2 * i], rows[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h)  // rows 0–3 (h = 0) and 4–7: element pairs 0–1, 2–3 | 4–5, 6–7
    for (int i = 0; i < 2; ++i) {
      u[4 * h + 2 * i] = _mm_unpacklo_epi32(s[4 * h + i], s[4 * h + i + 2]);
      u[4 * h + 2 * i + 1] = _mm_unpackhi_epi32(s[4 * h + i], s[4 * h + i + 2]);
    }
  for (int i = 0; i < 4; ++i) {
    rows[2 * i] = _mm_unpacklo_epi64(u[i], u[i + 4]);
    rows[2 * i + 1] = _mm_unpackhi_epi64(u[i], u[i + 4]);
  }
}

// Columns n0 … n0+15 of the panel form at k0 … k0+7, from 16 stored rows: each k's 16 values in
// widen_group's order (bf16: rows j and j + 8 side by side; f16: in order).
__attribute__((target("avx2"))) void pack_group_rows(const uint16_t* src, int64_t K, int64_t n0, int64_t k0, bool bf16,
                                                     uint16_t* dst) {
  __m128i lo[8], hi[8];
  for (int i = 0; i < 8; ++i) {
    lo[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (n0 + i) * K + k0));
    hi[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + (n0 + 8 + i) * K + k0));
  }
  transpose8x8_epi16(lo);
  transpose8x8_epi16(hi);
  for (int k = 0; k < 8; ++k) {
    auto* d = reinterpret_cast<__m128i*>(dst + k * kGemvPanel);
    _mm_storeu_si128(d, bf16 ? _mm_unpacklo_epi16(lo[k], hi[k]) : lo[k]);
    _mm_storeu_si128(d + 1, bf16 ? _mm_unpackhi_epi16(lo[k], hi[k]) : hi[k]);
  }
}

}  // namespace

int64_t gemv_panel_elements(int64_t N, int64_t K) { return panels_of(N) * kGemvPanel * K; }

// Written in the panels' order (one sequential write per panel): whole panels of stored rows by
// 8 × 8 transposes of 16-bit elements, the rest (GPT-2's Conv1D layout, a partial last panel,
// depths past a multiple of 8) element by element.
void pack_gemv_panels_avx2(const Tensor& w, int64_t N, int64_t K, bool in_out, uint16_t* dst) {
  const auto* src = w.data<uint16_t>();
  const int64_t n_step = in_out ? 1 : K, k_step = in_out ? N : 1;  // element (n, k) at n·n_step + k·k_step
  const bool bf16 = w.dtype() == DType::BF16;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < panels_of(N); ++p) {
    uint16_t* panel = dst + p * kGemvPanel * K;
    int64_t k0 = 0;
    if (!in_out && (p + 1) * kGemvPanel <= N)
      for (; k0 + 8 <= K; k0 += 8)
        for (int64_t g = 0; g < kGemvPanel / 16; ++g)
          pack_group_rows(src, K, p * kGemvPanel + 16 * g, k0, bf16, panel + k0 * kGemvPanel + 16 * g);
    for (int64_t k = k0; k < K; ++k)
      for (int64_t j = 0; j < kGemvPanel; ++j) {
        const int64_t n = p * kGemvPanel + j, c = j % 16;
        const int64_t slot = bf16 ? j - c + (c < 8 ? 2 * c : 2 * (c - 8) + 1) : j;  // widen_group's order
        panel[k * kGemvPanel + slot] = n < N ? src[n * n_step + k * k_step] : uint16_t{0};  // padded columns: zeros
      }
  }
}

void gemv_avx2(const float* x, int64_t K, const std::vector<GemvOutput>& outputs) {
  const DType d = outputs.front().w->dtype();
  if (outputs.front().panels) {
    std::vector<GemvPanel>& panels = gemv_panel_list();
    for (const GemvOutput& o : outputs) add_gemv_panels(panels, o.panels, nullptr, o.N, K, o.out);
    // no gated panels: the activation is not used
    if (d == DType::BF16) panel_gemv<DType::BF16, Activation::relu>(x, K, panels);
    else panel_gemv<DType::F16, Activation::relu>(x, K, panels);
    return;
  }
  if (d == DType::F32) gemv<DType::F32>(x, K, outputs);
  else if (d == DType::BF16) gemv<DType::BF16>(x, K, outputs);
  else gemv<DType::F16>(x, K, outputs);
}

void gated_gemv_avx2(const float* x, int64_t K, const Tensor& gate, const Tensor& up, int64_t N, Activation act,
                     float* out, const uint16_t* gate_panels, const uint16_t* up_panels) {
  // softplus has no vector form: the caller never fuses it (has_vector_form)
  with_vector_activation(act, [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    if (gate_panels) {
      const std::vector<GemvPanel>& panels = add_gemv_panels(gemv_panel_list(), gate_panels, up_panels, N, K, out);
      if (gate.dtype() == DType::BF16) panel_gemv<DType::BF16, A>(x, K, panels);
      else panel_gemv<DType::F16, A>(x, K, panels);
    } else if (gate.dtype() == DType::F32) gated_gemv<DType::F32, A>(x, K, gate, up, N, out);
    else if (gate.dtype() == DType::BF16) gated_gemv<DType::BF16, A>(x, K, gate, up, N, out);
    else gated_gemv<DType::F16, A>(x, K, gate, up, N, out);
  });
}

void small_m_avx2(const float* x, int64_t M, int64_t K, const Tensor& w, int64_t N, float* out) {
  if (w.dtype() == DType::F32) small_m<DType::F32>(x, M, K, w, N, out);
  else if (w.dtype() == DType::BF16) small_m<DType::BF16>(x, M, K, w, N, out);
  else small_m<DType::F16>(x, M, K, w, N, out);
}

void small_gemm_avx2(const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t b_rs, int64_t b_cs, float* C,
                     int64_t ldc, int64_t M, int64_t N, int64_t K, bool accumulate) {
  // B's rows are read in place when contiguous; otherwise packed into [K, N] once per call.
  thread_local std::vector<float> packed;
  const float* Bp = B;
  int64_t ldb = b_rs;
  if (b_cs != 1) {
    packed.resize(static_cast<size_t>(K * N));
    if (b_rs == 1) {
      pack_transposed(B, b_cs, K, N, packed.data());
    } else {
      for (int64_t k = 0; k < K; ++k)
        for (int64_t n = 0; n < N; ++n) packed[static_cast<size_t>(k * N + n)] = B[k * b_rs + n * b_cs];
    }
    Bp = packed.data();
    ldb = N;
  }
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) small_gemm_rows<4>(A + m * a_rs, a_rs, a_cs, Bp, ldb, N, K, C + m * ldc, ldc, accumulate);
  const float *Ar = A + m * a_rs;
  float* Cr = C + m * ldc;
  if (M - m == 3) small_gemm_rows<3>(Ar, a_rs, a_cs, Bp, ldb, N, K, Cr, ldc, accumulate);
  if (M - m == 2) small_gemm_rows<2>(Ar, a_rs, a_cs, Bp, ldb, N, K, Cr, ldc, accumulate);
  if (M - m == 1) small_gemm_rows<1>(Ar, a_rs, a_cs, Bp, ldb, N, K, Cr, ldc, accumulate);
}

void to_f32_avx2(const Tensor& w, int64_t n0, int64_t nb, int64_t K, float* dst) {
  if (w.dtype() == DType::BF16) to_f32<DType::BF16>(w, n0, nb, K, dst);
  else to_f32<DType::F16>(w, n0, nb, K, dst);
}

}  // namespace anatomy::cpu
