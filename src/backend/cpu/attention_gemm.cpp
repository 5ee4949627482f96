// Attention over many queries as GEMMs per (batch, query head) — S = Q·Kᵀ, masked softmax, O = P·V
// — and its backward pass likewise: the prefill and training paths. Threads take (batch, KV head)
// pairs and run their GEMMs on the calling thread, so the query heads that share a KV head never
// race on dK and dV. Masks follow attention_reference exactly (row_masked, causal, window, key
// padding, the fill value); each block of queries multiplies only the keys it can weigh.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

struct Layout {
  int64_t B, T, Hq, hd, Tk, stride, Hkv;
  explicit Layout(const Tensor& q, const Tensor& k, const backend::AttentionArgs& a)
      : B(q.dim(0)), T(q.dim(1)), Hq(q.dim(2)), hd(q.dim(3)), Tk(a.keys), stride(k.dim(1)), Hkv(k.dim(2)) {}
  int64_t q_row() const { return Hq * hd; }   // elements between a head's consecutive query rows
  int64_t kv_row() const { return Hkv * hd; }
  int64_t q_at(int64_t b, int64_t h) const { return b * T * Hq * hd + h * hd; }
  int64_t kv_at(int64_t b, int64_t kh) const { return b * stride * Hkv * hd + kh * hd; }
};

// Query rows [t0, t1) and the keys [lo, hi) any of them can weigh (the union of their spans): with
// a −∞ fill the keys past the causal diagonal or before the window get P = 0 exactly, so each block
// multiplies only its own rectangle — about 5/8 of the whole one at T = 128 in blocks of 32.
struct Block {
  int64_t t0, t1, lo, hi;
  int64_t rows() const { return t1 - t0; }
  int64_t keys() const { return hi - lo; }
};
constexpr int64_t kQueryBlock = 32;

// The blocks of every batch row, made once per call (every KV head of a row shares them).
std::vector<std::vector<Block>> blocks(const Layout& l, const AttentionMask& mask) {
  std::vector<std::vector<Block>> out(static_cast<size_t>(l.B));
  for (int64_t b = 0; b < l.B; ++b)
    for (int64_t t0 = 0; t0 < l.T; t0 += kQueryBlock) {
      Block blk{t0, std::min(l.T, t0 + kQueryBlock), l.Tk, 0};
      for (int64_t t = blk.t0; t < blk.t1; ++t) {
        const auto [first, last] = mask.span(t, mask.row_masked(b, t));
        blk.lo = std::min(blk.lo, first), blk.hi = std::max(blk.hi, last);
      }
      if (blk.hi <= blk.lo) blk.lo = 0, blk.hi = l.Tk;
      out[static_cast<size_t>(b)].push_back(blk);
    }
  return out;
}

// One block's scores S [rows, keys] (rows lds apart) in place -> P (masked_softmax_row_avx2 per
// row); `computed` [rows, keys] marks the scores the rows weigh.
void masked_softmax(const backend::AttentionArgs& a, const AttentionMask& mask, int64_t b, const Block& blk, float* S,
                    int64_t lds, std::vector<char>* computed) {
  const int64_t n = blk.keys();
  for (int64_t t = blk.t0; t < blk.t1; ++t)
    masked_softmax_row_avx2(mask, a, b, t, blk.lo, S + (t - blk.t0) * lds, n,
                            computed ? computed->data() + (t - blk.t0) * n : nullptr);
}

// The same marks without a softmax, for probabilities kept by the forward pass (rows that are not
// exact_row only: the others need none).
void computed_marks(const AttentionMask& mask, int64_t b, const Block& blk, std::vector<char>& computed) {
  const int64_t n = blk.keys();
  for (int64_t t = blk.t0; t < blk.t1; ++t) {
    if (mask.exact_row(b, t)) continue;
    const bool row_masked = mask.row_masked(b, t);
    for (int64_t j = 0; j < n; ++j) computed[(t - blk.t0) * n + j] = !mask.masked(b, t, blk.lo + j, row_masked);
  }
}

// Where block blk of (b, h) keeps its probabilities: rows of Tk floats, from key lo on.
float* kept_at(const Layout& l, const Tensor& P, int64_t b, int64_t h, const Block& blk) {
  return P.data<float>() + ((b * l.Hq + h) * l.T + blk.t0) * l.Tk + blk.lo;
}

// One block's rows of a query-shaped tensor (Q, O, dO, dQ), and its keys of a key-shaped one.
template <class F>
F* rows_of(const Layout& l, F* X, int64_t b, int64_t h, const Block& blk) {
  return X + l.q_at(b, h) + blk.t0 * l.q_row();
}
template <class F>
F* keys_of(const Layout& l, F* X, int64_t b, int64_t kh, const Block& blk) {
  return X + l.kv_at(b, kh) + blk.lo * l.kv_row();
}

// S = Q·Kᵀ over one block's rectangle for query head h of batch b (rows of S lds apart).
void scores(const Layout& l, const float* Q, const float* K, int64_t b, int64_t h, int64_t kh, const Block& blk,
            float* S, int64_t lds) {
  gemm_f32({rows_of(l, Q, b, h, blk), l.q_row(), 1}, {keys_of(l, K, b, kh, blk), 1, l.kv_row()}, S, blk.rows(), blk.keys(),
           l.hd, false, lds);
}

}  // namespace

bool attention_keeps_probabilities(const Tensor& q) { return q.dim(1) >= kGemmAttentionFrom && have_avx2(); }

bool attention_gemm(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) {
  if (q.dim(1) < kGemmAttentionFrom || !have_avx2()) return false;  // its softmax is AVX2
  const Layout l(q, k, a);
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>();
  float* O = out.data<float>();
  const AttentionMask mask(a, l.T);
  const auto row_blocks = blocks(l, mask);
#pragma omp parallel
  {
    std::vector<float> S(static_cast<size_t>(kQueryBlock * l.Tk));  // per thread: the (b, kh) pairs can be many
#pragma omp for collapse(2) schedule(dynamic)
    for (int64_t b = 0; b < l.B; ++b)
      for (int64_t kh = 0; kh < l.Hkv; ++kh)
        for (const Block& blk : row_blocks[static_cast<size_t>(b)])
          for (int64_t h = kh * (l.Hq / l.Hkv); h < (kh + 1) * (l.Hq / l.Hkv); ++h) {
            // Kept for the backward pass, the probabilities are made where they are kept.
            float* P = a.probabilities ? kept_at(l, *a.probabilities, b, h, blk) : S.data();
            const int64_t ldp = a.probabilities ? l.Tk : blk.keys();
            scores(l, Q, K, b, h, kh, blk, P, ldp);
            masked_softmax(a, mask, b, blk, P, ldp, nullptr);
            gemm_f32({P, ldp, 1}, {keys_of(l, V, b, kh, blk), l.kv_row(), 1}, rows_of(l, O, b, h, blk), blk.rows(), l.hd,
                     blk.keys(), false, l.q_row());
          }
  }
  return true;
}

// Per block: P as the forward kept it, or recomputed as the forward computes it; dP = dO·Vᵀ;
// dS = P∘(dP − Σ_j P∘dP)·scale where a score was computed (fills are constants); dQ += dS·K;
// dK += dSᵀ·Q; dV += Pᵀ·dO.
bool attention_backward_gemm(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                             const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv) {
  if (!have_avx2()) return false;  // its softmax is AVX2
  const Layout l(q, k, a);
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>(), *dO = dout.data<float>();
  float *dQ = dq.data<float>(), *dK = dk.data<float>(), *dV = dv.data<float>();
  const AttentionMask mask(a, l.T);
  const auto row_blocks = blocks(l, mask);
#pragma omp parallel
  {
    std::vector<float> P(static_cast<size_t>(kQueryBlock * l.Tk)), dP(P.size());
    std::vector<char> computed(P.size());
#pragma omp for collapse(2) schedule(dynamic)
    for (int64_t b = 0; b < l.B; ++b)
      for (int64_t kh = 0; kh < l.Hkv; ++kh)
        for (const Block& blk : row_blocks[static_cast<size_t>(b)])
          for (int64_t h = kh * (l.Hq / l.Hkv); h < (kh + 1) * (l.Hq / l.Hkv); ++h) {
            const int64_t n = blk.keys();
            const float* Pb = P.data();
            int64_t ldp = n;
            if (a.probabilities) {
              Pb = kept_at(l, *a.probabilities, b, h, blk);
              ldp = l.Tk;
              computed_marks(mask, b, blk, computed);
            } else {
              scores(l, Q, K, b, h, kh, blk, P.data(), n);
              masked_softmax(a, mask, b, blk, P.data(), n, &computed);
            }
            gemm_f32({rows_of(l, dO, b, h, blk), l.q_row(), 1}, {keys_of(l, V, b, kh, blk), 1, l.kv_row()}, dP.data(),
                     blk.rows(), n, l.hd, false);
            for (int64_t t = 0; t < blk.rows(); ++t) {
              const float* p = Pb + t * ldp;
              float* d = dP.data() + t * n;
              if (mask.exact_row(b, blk.t0 + t)) {  // P = 0 outside the span: so is dS
                const auto [lo, hi] = mask.span_within(blk.t0 + t, blk.lo, n);
                std::fill(d, d + lo, 0.0f);
                std::fill(d + hi, d + n, 0.0f);
                softmax_backward_avx2(p + lo, d + lo, hi - lo, a.scale);
                continue;
              }
              float pdp = 0;
              for (int64_t j = 0; j < n; ++j) pdp += p[j] * d[j];
              for (int64_t j = 0; j < n; ++j) d[j] = computed[t * n + j] ? p[j] * (d[j] - pdp) * a.scale : 0.0f;
            }
            const float* dS = dP.data();
            gemm_f32({dS, n, 1}, {keys_of(l, K, b, kh, blk), l.kv_row(), 1}, rows_of(l, dQ, b, h, blk), blk.rows(), l.hd,
                     n, true, l.q_row());
            gemm_f32({dS, 1, n}, {rows_of(l, Q, b, h, blk), l.q_row(), 1}, keys_of(l, dK, b, kh, blk), n, l.hd,
                     blk.rows(), true, l.kv_row());
            gemm_f32({Pb, 1, ldp}, {rows_of(l, dO, b, h, blk), l.q_row(), 1}, keys_of(l, dV, b, kh, blk), n, l.hd,
                     blk.rows(), true, l.kv_row());
          }
  }
  return true;
}

}  // namespace anatomy::cpu
