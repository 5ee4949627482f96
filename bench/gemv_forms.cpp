// Benchmark: decode's GEMV against the read probe, each pass of a GEMV followed by a pass of the
// probe (read_probe.h), so that both see the same moment of the machine's bandwidth — on this
// shared host it moves between ~30 and ~65 GB/s within minutes, and a probe run at another time
// cannot judge a kernel. Besides the engine's kernel (cpu::linear's M = 1 path on frozen weights,
// as a loaded model's: the panel form for bf16, 64 columns wide), the same layout 16 and 32
// columns wide (and 16 wide with the loads only summed), and the row forms gemm_avx2.cpp's comment
// compares, written out here on bf16 weights: one row or several rows at a time, with and without
// software prefetching, bf16 widened by zero-extend and shift or by interleaving with zeros, AVX2
// or AVX-512 — and the probe's read loop over the same weights. The weights (and the probe's
// array) are tensors, on the pages a model's weights get. The weights cycle through ≥ 1 GiB of
// distinct matrices, as a decode step's layers do. Prints how fast the engine packs one weight
// into its panel form, then, per form, the median GB/s, the median ratio to the probe beside it,
// and that median over the passes where the probe read more than 45 GB/s.
//   bench_gemv_forms [N] [K] [passes] [threads]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/gemm_kernels.h"
#include "backend/cpu/kernels.h"
#include "backend/device.h"
#include "read_probe.h"

using namespace anatomy;
using Clock = std::chrono::steady_clock;

namespace {

using Form = void (*)(const float* x, const float* xp, int64_t K, const uint16_t* w, int64_t N, float* out);

__attribute__((target("avx2,fma"))) float hsum(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

// One row at a time, 32 elements a step, bf16 zero-extended and shifted: the kernel before stop 28.
__attribute__((target("avx2,fma"))) void row_shift(const float* x, const float*, int64_t K, const uint16_t* w, int64_t N,
                                                   float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t k = 0; k < K; k += 32)
      for (int u = 0; u < 4; ++u) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + n * K + k + 8 * u));
        const __m256 f = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        a[u] = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8 * u), f, a[u]);
      }
    out[n] = hsum(_mm256_add_ps(_mm256_add_ps(a[0], a[1]), _mm256_add_ps(a[2], a[3])));
  }
}

// R rows at a time, 16 elements a step, bf16 interleaved with zeros (x permuted to match); with
// kPrefetch the next group of rows into L2 and the one after with T2.
template <int R, bool kPrefetch>
__attribute__((target("avx2,fma"))) void rows_unpack(const float*, const float* xp, int64_t K, const uint16_t* w,
                                                     int64_t N, float* out) {
  const int64_t groups = N / R;
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    const uint16_t* rows = w + g * R * K;
    const int64_t ahead = std::min<int64_t>(2, groups - g - 1);
    __m256 a[R][2];
    for (int r = 0; r < R; ++r) a[r][0] = a[r][1] = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
      if (kPrefetch && k % 32 == 0)
        for (int r = 0; r < R; ++r) {
          if (ahead > 0) _mm_prefetch(reinterpret_cast<const char*>(rows + (R + r) * K + k), _MM_HINT_T1);
          if (ahead > 1) _mm_prefetch(reinterpret_cast<const char*>(rows + (2 * R + r) * K + k), _MM_HINT_T2);
        }
      const __m256 x0 = _mm256_loadu_ps(xp + k), x1 = _mm256_loadu_ps(xp + k + 8);
      for (int r = 0; r < R; ++r) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * K + k));
        a[r][0] = _mm256_fmadd_ps(x0, _mm256_castsi256_ps(_mm256_unpacklo_epi16(_mm256_setzero_si256(), v)), a[r][0]);
        a[r][1] = _mm256_fmadd_ps(x1, _mm256_castsi256_ps(_mm256_unpackhi_epi16(_mm256_setzero_si256(), v)), a[r][1]);
      }
    }
    for (int r = 0; r < R; ++r) out[g * R + r] = hsum(_mm256_add_ps(a[r][0], a[r][1]));
  }
}

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized / -Wuninitialized on _mm512_undefined_*.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// AVX-512, eight rows at a time, 32 elements a step, bf16 zero-extended and shifted, prefetching as
// rows_unpack: the AVX-512 kernel of stop 28's first commit.
__attribute__((target("avx512f,avx512bw,fma"))) void rows512_body(const float* x, int64_t K, const uint16_t* rows,
                                                                  int64_t ahead, float* out) {
  constexpr int R = 8;
  __m512 a[R][2];
  for (int r = 0; r < R; ++r) a[r][0] = a[r][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < K; k += 32) {
    for (int r = 0; r < R; ++r) {
      if (ahead > 0) _mm_prefetch(reinterpret_cast<const char*>(rows + (R + r) * K + k), _MM_HINT_T1);
      if (ahead > 1) _mm_prefetch(reinterpret_cast<const char*>(rows + (2 * R + r) * K + k), _MM_HINT_T2);
    }
    const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < 2; ++h) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows + r * K + k + 16 * h));
        const __m512 f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16));
        a[r][h] = _mm512_fmadd_ps(h ? x1 : x0, f, a[r][h]);
      }
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(a[r][0], a[r][1]));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
void rows512(const float* x, const float*, int64_t K, const uint16_t* w, int64_t N, float* out) {
  const int64_t groups = N / 8;
#pragma omp parallel for schedule(static)
  for (int64_t g = 0; g < groups; ++g) rows512_body(x, K, w + g * 8 * K, std::min<int64_t>(2, groups - g - 1), out + g * 8);
}

// Column panels of C output columns × K in bf16 (the engine's panel form is 64 columns wide,
// gemm_kernels.h; 16 is the f32 prefill's panel width): each k's values stored 16 at a time so
// that a 32-bit lane holds column j in its low half and j + 8 in its high half, x broadcast per k,
// four sets of accumulators over k for C = 16, two for C = 32. Without kArithmetic the same loads
// are only summed: what the loop's shape alone reads.
template <int C, bool kArithmetic>
__attribute__((target("avx2,fma"))) void column_panels(const float* x, const float*, int64_t K, const uint16_t* w,
                                                       int64_t N, float* out) {
  constexpr int V = C / 8, KS = 64 / C;  // vectors a k; k steps in flight
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < N / C; ++p) {
    const uint16_t* b = w + p * C * K;
    const __m256i high = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
    __m256 acc[KS][V];
    for (auto& a : acc)
      for (auto& v : a) v = _mm256_setzero_ps();
    for (int64_t k = 0; k < K; k += KS)
#pragma GCC unroll 4
      for (int u = 0; u < KS; ++u) {
        const __m256 xk = _mm256_broadcast_ss(x + k + u);
#pragma GCC unroll 4
        for (int h = 0; h < V / 2; ++h) {
          const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + (k + u) * C + 16 * h));
          if constexpr (kArithmetic) {
            acc[u][2 * h] = _mm256_fmadd_ps(xk, _mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), acc[u][2 * h]);
            acc[u][2 * h + 1] = _mm256_fmadd_ps(xk, _mm256_castsi256_ps(_mm256_and_si256(v, high)), acc[u][2 * h + 1]);
          } else {
            acc[u][2 * h] = _mm256_add_ps(acc[u][2 * h], _mm256_castsi256_ps(v));
          }
        }
      }
    for (int h = 0; h < V; ++h) {
      __m256 sum = acc[0][h];
      for (int u = 1; u < KS; ++u) sum = _mm256_add_ps(sum, acc[u][h]);
      _mm256_storeu_ps(out + p * C + 8 * h, sum);
    }
  }
}

// w [N, K] rows into column_panels' layout.
template <int C>
void to_column_panels(const uint16_t* w, int64_t N, int64_t K, uint16_t* dst) {
  for (int64_t p = 0; p < N / C; ++p)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t h = 0; h < C / 16; ++h)
        for (int64_t j = 0; j < 8; ++j) {
          uint16_t* d = dst + (p * K + k) * C + 16 * h + 2 * j;
          d[0] = w[(p * C + 16 * h + j) * K + k];
          d[1] = w[(p * C + 16 * h + j + 8) * K + k];
        }
}

// What any form could reach on these weights: the probe's own loop over them, no arithmetic but
// the adds (a read bound that includes the weights' pages and the per-matrix parallel regions).
void read_only(const float*, const float*, int64_t K, const uint16_t* w, int64_t N, float* out) {
  out[0] = static_cast<float>(backend::stream_read(reinterpret_cast<const float*>(w), N * K / 2));
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t N = argc > 1 ? std::atoll(argv[1]) : 8192, K = argc > 2 ? std::atoll(argv[2]) : 2048;
  const int passes = argc > 3 ? std::atoi(argv[3]) : 20;
  if (N < 96 || N % 96 || K < 32 || K % 32 || passes < 2) {
    std::fprintf(stderr, "bench_gemv_forms: N a multiple of 96, K of 32, passes ≥ 2 expected\n");
    return 2;
  }
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "bench_gemv_forms: the forms are AVX2 + FMA code, which this CPU lacks\n");
    return 2;
  }
  backend::apply_isa_cap();
  backend::set_threads(argc > 4 ? std::atoi(argv[4]) : 2);
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  const int64_t copies = std::max<int64_t>(2, (int64_t{1} << 30) / (N * K * 2));
  std::vector<Tensor> weights, columns16, columns32;  // column_panels' copies
  for (int64_t c = 0; c < copies; ++c) {
    weights.push_back(Tensor::empty(DType::BF16, {N, K}));
    std::memset(weights.back().raw(), 0x3c, weights.back().nbytes());  // 0x3c3c: bf16 ≈ 0.0115
    weights.back().storage()->freeze();  // as a loaded model's: the engine reads their panel form
    columns16.push_back(Tensor::empty(DType::BF16, {N, K}));
    to_column_panels<16>(weights.back().data<uint16_t>(), N, K, columns16.back().data<uint16_t>());
    columns32.push_back(Tensor::empty(DType::BF16, {N, K}));
    to_column_panels<32>(weights.back().data<uint16_t>(), N, K, columns32.back().data<uint16_t>());
  }
  Tensor x = Tensor::empty(DType::F32, {1, K}), y = Tensor::empty(DType::F32, {1, N});
  for (int64_t k = 0; k < K; ++k) x.data<float>()[k] = 1.0f + static_cast<float>(k % 7) / 7;
  std::vector<float> xp(x.data<float>(), x.data<float>() + K);  // in the interleave's order
  for (int64_t k = 0; k < K; k += 16)
    for (int64_t i = 0; i < 4; ++i) std::swap(xp[k + 4 + i], xp[k + 8 + i]);
  const double weight_bytes = static_cast<double>(N * K * 2);
  std::vector<double> pack_gbs;  // the engine's packing into the panel form, into touched memory
  Tensor panels = Tensor::zeros(DType::BF16, {cpu::gemv_panel_elements(N, K)});
  for (int r = 0; r < 5; ++r) {
    const auto t0 = Clock::now();
    cpu::pack_gemv_panels_avx2(weights[0], N, K, false, panels.data<uint16_t>());
    pack_gbs.push_back(weight_bytes / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9);
  }
  const ReadProbe probe;
  struct Named {
    const char* name;
    Form form;
    const std::vector<Tensor>* copies = nullptr;  // what it reads, if not the weights' rows
  };
  const Form engine = nullptr;  // cpu::linear's M = 1 path
  std::vector<Named> forms = {{"engine (cpu::linear, M = 1)", engine},
                              {"read only (the probe's loop over these weights)", read_only},
                              {"column panels, 16 × K", column_panels<16, true>, &columns16},
                              {"column panels, 16 × K, loads and adds only", column_panels<16, false>, &columns16},
                              {"column panels, 32 × K", column_panels<32, true>, &columns32},
                              {"1 row, shift (before stop 28)", row_shift},
                              {"1 row, interleave", rows_unpack<1, false>},
                              {"1 row, interleave, prefetch", rows_unpack<1, true>},
                              {"2 rows, interleave, prefetch", rows_unpack<2, true>},
                              {"6 rows, interleave", rows_unpack<6, false>},
                              {"6 rows, interleave, prefetch", rows_unpack<6, true>}};
  if (avx512) forms.push_back({"AVX-512 8 rows, shift, prefetch", rows512});
  std::vector<std::vector<double>> rate(forms.size()), ratio(forms.size()), fast(forms.size());
  for (int p = 0; p < passes; ++p)
    for (size_t f = 0; f < forms.size(); ++f) {
      auto t0 = Clock::now();
      for (const Tensor& w : forms[f].copies ? *forms[f].copies : weights)
        if (forms[f].form) forms[f].form(x.data<float>(), xp.data(), K, w.data<uint16_t>(), N, y.data<float>());
        else cpu::linear(x, w, nullptr, false, y);
      const double gemv_gbs = static_cast<double>(copies) * weight_bytes / std::chrono::duration<double>(Clock::now() - t0).count() / 1e9;
      const double probe_gbs = probe.gbps();
      if (p == 0) continue;  // warm-up
      rate[f].push_back(gemv_gbs);
      ratio[f].push_back(gemv_gbs / probe_gbs);
      if (probe_gbs > 45) fast[f].push_back(gemv_gbs / probe_gbs);
    }
  std::printf("packing one weight into the panel form: %.1f GB/s of weights (median of 5)\n", median(pack_gbs));
  std::printf("bf16 weights [%lld, %lld] × %lld, %d passes, %d threads\n\n| form | GB/s | of the probe | when the probe read > 45 GB/s |\n|---|---|---|---|\n",
              static_cast<long long>(N), static_cast<long long>(K), static_cast<long long>(copies), passes - 1, backend::threads());
  for (size_t f = 0; f < forms.size(); ++f)
    std::printf("| %s | %.1f | %.1f %% | %s |\n", forms[f].name, median(rate[f]), 100 * median(ratio[f]),
                fast[f].empty() ? "—" : (std::to_string(static_cast<int>(100 * median(fast[f]) + 0.5)) + " % (" +
                                         std::to_string(fast[f].size()) + " passes)").c_str());
  return 0;
}
