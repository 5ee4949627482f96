// Attention, fast path (decode and short prompts; attention_gemm.cpp takes longer ones): the query
// heads that share a KV head go together, scores kept per query row (T×T is never materialised).
// Same semantics as the reference in attention.cpp.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

// Lanes [0, n) of a vector (n < 8): the tail of a row, read and written with masked loads and
// stores so that short rows (a causal row's first keys) need no scalar exp.
__attribute__((target("avx2,fma"))) __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

__attribute__((target("avx2,fma"))) void scaled_softmax_avx2(float* s, int64_t n, float scale) {
  const int64_t body = n / 8 * 8;
  const __m256i tail = tail_mask(n - body);
  const __m256 vscale = _mm256_set1_ps(scale), ninf = _mm256_set1_ps(-INFINITY);
  __m256 vmax = ninf;
  for (int64_t j = 0; j < body; j += 8) vmax = _mm256_max_ps(vmax, _mm256_mul_ps(_mm256_loadu_ps(s + j), vscale));
  // Lanes past n read as −∞ (blendv keeps the mask's lanes of the load), so they add e⁻∞ = 0.
  const __m256 last = _mm256_blendv_ps(ninf, _mm256_mul_ps(_mm256_maskload_ps(s + body, tail), vscale),
                                       _mm256_castsi256_ps(tail));
  if (body < n) vmax = _mm256_max_ps(vmax, last);
  const __m256 vshift = _mm256_set1_ps(-avx2::hmax8(vmax));
  __m256 vsum = _mm256_setzero_ps();
  for (int64_t j = 0; j < body; j += 8) {
    const __m256 e = avx2::exp8(_mm256_fmadd_ps(_mm256_loadu_ps(s + j), vscale, vshift));
    _mm256_storeu_ps(s + j, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  __m256 e_last = _mm256_setzero_ps();
  if (body < n) {
    e_last = _mm256_and_ps(avx2::exp8(_mm256_add_ps(last, vshift)), _mm256_castsi256_ps(tail));
    vsum = _mm256_add_ps(vsum, e_last);
  }
  const __m256 vinv = _mm256_set1_ps(1.0f / avx2::hsum8(vsum));
  for (int64_t j = 0; j < body; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), vinv));
  if (body < n) _mm256_maskstore_ps(s + body, tail, _mm256_mul_ps(e_last, vinv));
}

__attribute__((target("avx2,fma"))) void softmax_backward_avx2(const float* p, float* d, int64_t n, float scale) {
  const int64_t body = n / 8 * 8;
  const __m256i tail = tail_mask(n - body);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j = 0; j < body; j += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + j), _mm256_loadu_ps(d + j), acc);
  const __m256 p_last = _mm256_maskload_ps(p + body, tail), d_last = _mm256_maskload_ps(d + body, tail);  // 0 past n
  acc = _mm256_fmadd_ps(p_last, d_last, acc);
  const __m256 vpdp = _mm256_set1_ps(avx2::hsum8(acc)), vscale = _mm256_set1_ps(scale);
  for (int64_t j = 0; j < body; j += 8) {
    const __m256 pj = _mm256_mul_ps(_mm256_loadu_ps(p + j), vscale);
    _mm256_storeu_ps(d + j, _mm256_mul_ps(pj, _mm256_sub_ps(_mm256_loadu_ps(d + j), vpdp)));
  }
  if (body < n) _mm256_maskstore_ps(d + body, tail, _mm256_mul_ps(_mm256_mul_ps(p_last, vscale), _mm256_sub_ps(d_last, vpdp)));
}

void masked_softmax_row_avx2(const AttentionMask& mask, const backend::AttentionArgs& a, int64_t b, int64_t t,
                             int64_t key0, float* s, int64_t n, char* computed) {
  if (mask.exact_row(b, t)) {
    const auto [lo, hi] = mask.span_within(t, key0, n);
    std::fill(s, s + lo, 0.0f);
    std::fill(s + hi, s + n, 0.0f);
    if (hi > lo) scaled_softmax_avx2(s + lo, hi - lo, a.scale);
    if (computed)
      for (int64_t j = 0; j < n; ++j) computed[j] = j >= lo && j < hi;
    return;
  }
  const bool row_masked = mask.row_masked(b, t);
  for (int64_t j = 0; j < n; ++j) {
    const bool masked = mask.masked(b, t, key0 + j, row_masked);
    if (computed) computed[j] = !masked;
    s[j] = masked ? a.masked_value : s[j] * a.scale;
  }
  scaled_softmax_avx2(s, n, 1.0f);
  if (std::isinf(a.masked_value))
    for (int64_t j = 0; j < n; ++j)
      if (mask.masked(b, t, key0 + j, row_masked)) s[j] = 0.0f;
}

namespace {

// Query heads of one KV head taken together (GQA): each key's and value's row is loaded once for
// up to kGroup of them, not once per query head. kGroup = 4 keeps the accumulators in registers:
// 2·4 + 2 + 1 of the 16 ymm in both loops.
constexpr int64_t kGroup = 4;
// Keys are Hkv·hd floats apart in the cache (2 KB for Llama-3.2-1B), too far for the hardware
// prefetcher to run ahead: rows 16 keys ahead are prefetched. At 2048 cached keys a decode step's
// attention took 12.1–13.2 ms without, 9.6–11.1 ms with (Llama-3.2-1B, bench/RESULTS.md).
constexpr int64_t kAhead = 16;

struct Group {
  const float *q, *K, *V;  // the first query head's row; key and value row 0 of the KV head
  float* o;                // the first query head's output row
  float* s;                // R score rows of Tk floats
  int64_t hd, kv_step, Tk;  // head size; floats from one key's row to the next; score row length
};

// s_r[j] = q_r·K_j for the R query heads and the keys j in [first, limit) that `needed(j)`.
template <int R, class Needed>
__attribute__((target("avx2,fma"))) void group_scores(const Group& g, int64_t first, int64_t limit, Needed needed) {
  const int64_t hd8 = g.hd / 8 * 8;
  for (int64_t j = first; j < limit; ++j) {
    if (!needed(j)) continue;
    const float* kj = g.K + j * g.kv_step;
    if (j + kAhead < limit)
      for (int64_t c = 0; c < g.hd; c += 16) _mm_prefetch(reinterpret_cast<const char*>(kj + kAhead * g.kv_step + c), _MM_HINT_T0);
    __m256 a0[R], a1[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm256_setzero_ps();
    int64_t c = 0;
    for (; c + 16 <= hd8; c += 16) {
      const __m256 k0 = _mm256_loadu_ps(kj + c), k1 = _mm256_loadu_ps(kj + c + 8);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        a0[r] = _mm256_fmadd_ps(_mm256_loadu_ps(g.q + r * g.hd + c), k0, a0[r]);
        a1[r] = _mm256_fmadd_ps(_mm256_loadu_ps(g.q + r * g.hd + c + 8), k1, a1[r]);
      }
    }
    if (c < hd8) {
      const __m256 k0 = _mm256_loadu_ps(kj + c);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) a0[r] = _mm256_fmadd_ps(_mm256_loadu_ps(g.q + r * g.hd + c), k0, a0[r]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      float v = avx2::hsum8(_mm256_add_ps(a0[r], a1[r]));
      for (int64_t i = hd8; i < g.hd; ++i) v += g.q[r * g.hd + i] * kj[i];
      g.s[r * g.Tk + j] = v;
    }
  }
}

// o_r = Σ_j p_r[j]·V_j over [first, limit), 8 output columns at a time with two keys in flight.
template <int R>
__attribute__((target("avx2,fma"))) void group_values(const Group& g, int64_t first, int64_t limit) {
  const int64_t hd8 = g.hd / 8 * 8;
  for (int64_t c = 0; c < hd8; c += 8) {
    __m256 a0[R], a1[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) a0[r] = a1[r] = _mm256_setzero_ps();
    int64_t j = first;
    for (; j + 2 <= limit; j += 2) {
      if (c % 16 == 0 && j + 1 + kAhead < limit) {
        _mm_prefetch(reinterpret_cast<const char*>(g.V + (j + kAhead) * g.kv_step + c), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(g.V + (j + 1 + kAhead) * g.kv_step + c), _MM_HINT_T0);
      }
      const __m256 v0 = _mm256_loadu_ps(g.V + j * g.kv_step + c), v1 = _mm256_loadu_ps(g.V + (j + 1) * g.kv_step + c);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        a0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(g.s + r * g.Tk + j), v0, a0[r]);
        a1[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(g.s + r * g.Tk + j + 1), v1, a1[r]);
      }
    }
    if (j < limit) {
      const __m256 v0 = _mm256_loadu_ps(g.V + j * g.kv_step + c);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) a0[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(g.s + r * g.Tk + j), v0, a0[r]);
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) _mm256_storeu_ps(g.o + r * g.hd + c, _mm256_add_ps(a0[r], a1[r]));
  }
  for (int r = 0; r < R; ++r)
    for (int64_t i = hd8; i < g.hd; ++i) {
      float v = 0;
      for (int64_t j = first; j < limit; ++j) v += g.s[r * g.Tk + j] * g.V[j * g.kv_step + i];
      g.o[r * g.hd + i] = v;
    }
}

template <int R>
void attend_group(const Group& g, const AttentionMask& mask, const backend::AttentionArgs& a, int64_t b, int64_t t) {
  const bool row_masked = mask.row_masked(b, t), exact = mask.exact_row(b, t);
  const auto [first, limit] = mask.span(t, row_masked);  // the keys with P > 0
  // Masked keys' scores are not read: the softmax writes their fill.
  group_scores<R>(g, first, limit, [&](int64_t j) { return exact || !mask.masked(b, t, j, row_masked); });
  for (int r = 0; r < R; ++r) masked_softmax_row_avx2(mask, a, b, t, first, g.s + r * g.Tk + first, limit - first, nullptr);
  group_values<R>(g, first, limit);
}

constexpr void (*kAttendGroup[kGroup + 1])(const Group&, const AttentionMask&, const backend::AttentionArgs&, int64_t,
                                           int64_t) = {nullptr, attend_group<1>, attend_group<2>, attend_group<3>,
                                                       attend_group<4>};

}  // namespace

// OpenMP over (batch, KV head, group of ≤ 4 of its query heads), each such item over every query
// position.
bool attention_fast(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) {
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Tk = a.keys, stride = k.dim(1), Hkv = k.dim(2);
  const int64_t rep = Hq / Hkv, groups = (rep + kGroup - 1) / kGroup;
  const AttentionMask mask(a, T);
  // Pointers taken once: Tensor::data() per key costs more than the dot product at small head sizes.
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>();
  float* O = out.data<float>();
#pragma omp parallel
  {
    std::vector<float> s(static_cast<size_t>(kGroup * Tk));
#pragma omp for collapse(3) schedule(static)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t kh = 0; kh < Hkv; ++kh)
        for (int64_t gi = 0; gi < groups; ++gi) {
          const int64_t h0 = kh * rep + gi * kGroup, R = std::min(kGroup, rep - gi * kGroup);
          for (int64_t t = 0; t < T; ++t) {
            const Group g{Q + ((b * T + t) * Hq + h0) * hd, K + (b * stride * Hkv + kh) * hd, V + (b * stride * Hkv + kh) * hd,
                          O + ((b * T + t) * Hq + h0) * hd, s.data(), hd, Hkv * hd, Tk};
            kAttendGroup[R](g, mask, a, b, t);
          }
        }
  }
  return true;
}

}  // namespace anatomy::cpu
