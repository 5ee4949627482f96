// Scaled dot-product attention with causal, key and query masks and GQA, reading K/V in place
// (a KV cache of which `keys` steps are used): scalar reference and dispatch (attention_avx2.cpp).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void attention(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) {
  dispatch(Kernel::attention, [&] { return attention_gemm(q, k, v, a, out) || attention_fast(q, k, v, a, out); },
           [&] { attention_reference(q, k, v, a, out); });
}

void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                        const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv) {
  dispatch(Kernel::attention_backward, [&] { return attention_backward_gemm(q, k, v, a, dout, dq, dk, dv); },
           [&] { attention_backward_reference(q, k, v, a, dout, dq, dk, dv); });
}

void attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                         Tensor& out) {
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Tk = a.keys, stride = k.dim(1), Hkv = k.dim(2);
  const int64_t rep = Hq / Hkv;
  const AttentionMask mask(a, T);
  std::vector<float> s(static_cast<size_t>(Tk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const float* qs = q.data<float>() + ((b * T + t) * Hq + h) * hd;
        const bool row_masked = mask.row_masked(b, t);
        float mx = -INFINITY;
        for (int64_t j = 0; j < Tk; ++j) {
          const float* ks = k.data<float>() + ((b * stride + j) * Hkv + h / rep) * hd;
          float dot = 0;
          for (int64_t e = 0; e < hd; ++e) dot += qs[e] * ks[e];
          s[j] = mask.masked(b, t, j, row_masked) ? a.masked_value : dot * a.scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < Tk; ++j) sum += (s[j] = std::exp(s[j] - mx));
        float* o = out.data<float>() + (b * T + t) * Hq * hd + h * hd;
        for (int64_t e = 0; e < hd; ++e) o[e] = 0;
        for (int64_t j = 0; j < Tk; ++j) {
          const float p = static_cast<float>(s[j] / sum);
          const float* vs = v.data<float>() + ((b * stride + j) * Hkv + h / rep) * hd;
          for (int64_t e = 0; e < hd; ++e) o[e] += p * vs[e];
        }
      }
}

// Backward of attention_reference, per (batch, query head), recomputing the probabilities P of
// each query row: dV_j += P_j·dO; dP_j = dO·V_j; dS_j = P_j·(dP_j − Σ_i P_i·dP_i); for scores that
// were computed (not masked, which are constants) dQ += scale·dS_j·K_j and dK_j += scale·dS_j·Q.
// Keys outside the mask's span (P = 0) are skipped; a finite fill (−10000) keeps them in P and dV.
// Threads take (batch, KV head) pairs: the query heads sharing a KV head never race on dK, dV.
void attention_backward_reference(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                                  const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv) {
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Tk = a.keys, stride = k.dim(1), Hkv = k.dim(2);
  const int64_t rep = Hq / Hkv;
  const float *Q = q.data<float>(), *K = k.data<float>(), *V = v.data<float>(), *dO = dout.data<float>();
  float *dQ = dq.data<float>(), *dK = dk.data<float>(), *dV = dv.data<float>();
  const AttentionMask mask(a, T);
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t kh = 0; kh < Hkv; ++kh) {
      std::vector<float> p(static_cast<size_t>(Tk)), dp(static_cast<size_t>(Tk));
      std::vector<char> computed(static_cast<size_t>(Tk));
      auto key = [&](auto* base, int64_t j) { return base + ((b * stride + j) * Hkv + kh) * hd; };
      for (int64_t h = kh * rep; h < (kh + 1) * rep; ++h)
        for (int64_t t = 0; t < T; ++t) {
          const float* qs = Q + ((b * T + t) * Hq + h) * hd;
          const float* go = dO + ((b * T + t) * Hq + h) * hd;
          float* dqs = dQ + ((b * T + t) * Hq + h) * hd;
          const bool row_masked = mask.row_masked(b, t);
          const auto [lo, hi] = mask.span(t, row_masked);
          float mx = -INFINITY;
          for (int64_t j = lo; j < hi; ++j) {
            const bool masked = mask.masked(b, t, j, row_masked);
            computed[j] = !masked;
            float dot = 0;
            if (!masked) {
              const float* ks = key(K, j);
              for (int64_t e = 0; e < hd; ++e) dot += qs[e] * ks[e];
            }
            p[j] = masked ? a.masked_value : dot * a.scale;
            mx = std::max(mx, p[j]);
          }
          float sum = 0;
          for (int64_t j = lo; j < hi; ++j) sum += (p[j] = std::exp(p[j] - mx));
          const float inv = 1.0f / sum;
          float pdp = 0;
          for (int64_t j = lo; j < hi; ++j) {
            p[j] *= inv;
            const float* vs = key(V, j);
            float* dvs = key(dV, j);
            float d = 0;
            for (int64_t e = 0; e < hd; ++e) {
              d += go[e] * vs[e];
              dvs[e] += p[j] * go[e];
            }
            dp[j] = d;
            pdp += p[j] * d;
          }
          for (int64_t j = lo; j < hi; ++j) {
            if (!computed[j]) continue;
            const float ds = p[j] * (dp[j] - pdp) * a.scale;
            const float* ks = key(K, j);
            float* dks = key(dK, j);
            for (int64_t e = 0; e < hd; ++e) {
              dqs[e] += ds * ks[e];
              dks[e] += ds * qs[e];
            }
          }
        }
    }
}

}  // namespace anatomy::cpu
