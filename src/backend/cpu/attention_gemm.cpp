// Attention over many queries as GEMMs per (batch, query head) — S = Q·Kᵀ, masked softmax, O = P·V
// — and its backward pass likewise: the prefill and training paths. Threads take (batch, KV head)
// pairs and run their GEMMs on the calling thread, so the query heads that share a KV head never
// race on dK and dV. Masks follow attention_reference exactly (row_masked, causal, window, key
// padding, the fill value); the full T × keys rectangle is computed, as dense kernels do.
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

// Masked, scaled softmax of one head's scores S [T, Tk] in place -> P; `computed` marks the
// entries that were scores (not fills), whose gradient flows back.
void masked_softmax(const Layout& l, const backend::AttentionArgs& a, const AttentionMask& mask, int64_t b, float* S,
                    std::vector<char>* computed) {
  for (int64_t t = 0; t < l.T; ++t) {
    float* s = S + t * l.Tk;
    const bool row_masked = mask.row_masked(b, t);
    float mx = -INFINITY;
    for (int64_t j = 0; j < l.Tk; ++j) {
      const bool masked = mask.masked(b, t, j, row_masked);
      if (computed) (*computed)[t * l.Tk + j] = !masked;
      s[j] = masked ? a.masked_value : s[j] * a.scale;
      mx = std::max(mx, s[j]);
    }
    double sum = 0;
    for (int64_t j = 0; j < l.Tk; ++j) sum += (s[j] = std::exp(s[j] - mx));
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < l.Tk; ++j) s[j] *= inv;
  }
}

// S = Q_h·K_khᵀ for query head h of batch b.
void scores(const Layout& l, const float* Q, const float* K, int64_t b, int64_t h, int64_t kh, float* S) {
  gemm_f32({Q + l.q_at(b, h), l.q_row(), 1}, {K + l.kv_at(b, kh), 1, l.kv_row()}, S, l.T, l.Tk, l.hd, false);
}

}  // namespace

bool attention_gemm(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) {
  if (q.dim(1) < kGemmAttentionFrom) return false;
  const Layout l(q, k, a);
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>();
  float* O = out.data<float>();
  const AttentionMask mask(a, l.T);
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t b = 0; b < l.B; ++b)
    for (int64_t kh = 0; kh < l.Hkv; ++kh) {
      std::vector<float> S(static_cast<size_t>(l.T * l.Tk));
      for (int64_t h = kh * (l.Hq / l.Hkv); h < (kh + 1) * (l.Hq / l.Hkv); ++h) {
        scores(l, Q, K, b, h, kh, S.data());
        masked_softmax(l, a, mask, b, S.data(), nullptr);
        gemm_f32({S.data(), l.Tk, 1}, {V + l.kv_at(b, kh), l.kv_row(), 1}, O + l.q_at(b, h), l.T, l.hd, l.Tk, false,
                 l.q_row());
      }
    }
  return true;
}

// P recomputed as the forward computes it; dP = dO·Vᵀ; dS = P∘(dP − Σ_j P∘dP)·scale where a score
// was computed (fills are constants); dQ += dS·K; dK += dSᵀ·Q; dV += Pᵀ·dO.
bool attention_backward_gemm(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                             const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv) {
  const Layout l(q, k, a);
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>(), *dO = dout.data<float>();
  float *dQ = dq.data<float>(), *dK = dk.data<float>(), *dV = dv.data<float>();
  const AttentionMask mask(a, l.T);
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t b = 0; b < l.B; ++b)
    for (int64_t kh = 0; kh < l.Hkv; ++kh) {
      std::vector<float> P(static_cast<size_t>(l.T * l.Tk)), dP(P.size());
      std::vector<char> computed(P.size());
      for (int64_t h = kh * (l.Hq / l.Hkv); h < (kh + 1) * (l.Hq / l.Hkv); ++h) {
        scores(l, Q, K, b, h, kh, P.data());
        masked_softmax(l, a, mask, b, P.data(), &computed);
        gemm_f32({dO + l.q_at(b, h), l.q_row(), 1}, {V + l.kv_at(b, kh), 1, l.kv_row()}, dP.data(), l.T, l.Tk, l.hd, false);
        for (int64_t t = 0; t < l.T; ++t) {
          const float* p = P.data() + t * l.Tk;
          float* d = dP.data() + t * l.Tk;
          float pdp = 0;
          for (int64_t j = 0; j < l.Tk; ++j) pdp += p[j] * d[j];
          for (int64_t j = 0; j < l.Tk; ++j) d[j] = computed[t * l.Tk + j] ? p[j] * (d[j] - pdp) * a.scale : 0.0f;
        }
        const float* dS = dP.data();
        gemm_f32({dS, l.Tk, 1}, {K + l.kv_at(b, kh), l.kv_row(), 1}, dQ + l.q_at(b, h), l.T, l.hd, l.Tk, true, l.q_row());
        gemm_f32({dS, 1, l.Tk}, {Q + l.q_at(b, h), l.q_row(), 1}, dK + l.kv_at(b, kh), l.Tk, l.hd, l.T, true, l.kv_row());
        gemm_f32({P.data(), 1, l.Tk}, {dO + l.q_at(b, h), l.q_row(), 1}, dV + l.kv_at(b, kh), l.Tk, l.hd, l.T, true,
                 l.kv_row());
      }
    }
  return true;
}

}  // namespace anatomy::cpu
