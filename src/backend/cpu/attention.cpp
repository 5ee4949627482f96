// Scaled dot-product attention with causal, key and query masks and GQA, reading K/V in place
// (a KV cache of which `keys` steps are used): scalar reference and dispatch (attention_avx2.cpp).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void attention(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) {
  dispatch(Kernel::attention, [&] { return attention_fast(q, k, v, a, out); }, [&] { attention_reference(q, k, v, a, out); });
}

void attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                         Tensor& out) {
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Tk = a.keys, stride = k.dim(1), Hkv = k.dim(2);
  const int64_t rep = Hq / Hkv;
  std::vector<float> s(static_cast<size_t>(Tk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const float* qs = q.data<float>() + ((b * T + t) * Hq + h) * hd;
        const bool row_masked = a.query_padding && load(*a.query_padding, static_cast<uint64_t>(b * T + t)) == 0.0f;
        float mx = -INFINITY;
        for (int64_t j = 0; j < Tk; ++j) {
          const float* ks = k.data<float>() + ((b * stride + j) * Hkv + h / rep) * hd;
          float dot = 0;
          for (int64_t e = 0; e < hd; ++e) dot += qs[e] * ks[e];
          const bool masked = row_masked || (a.causal && j > a.past + t) || (a.window > 0 && j <= a.past + t - a.window) ||
                              (a.key_padding && load(*a.key_padding, static_cast<uint64_t>(b * Tk + j)) == 0.0f);
          s[j] = masked ? a.masked_value : dot * a.scale;
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

}  // namespace anatomy::cpu
