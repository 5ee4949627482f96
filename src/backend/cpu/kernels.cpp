// Scalar reference kernels. Clarity over speed: each is the definition the fast kernels and the
// independent references (PyTorch, llama.cpp) are compared against.
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/gemm.h"
#include "core/half.h"

namespace anatomy::cpu {

float load(const Tensor& t, uint64_t i) { return element_f32(t, i); }

std::vector<float> floats(const Tensor& t) {
  std::vector<float> v(t.numel());
  if (t.dtype() == DType::F32) std::memcpy(v.data(), t.raw(), t.nbytes());
  else
    for (uint64_t i = 0; i < t.numel(); ++i) v[i] = element_f32(t, i);
  return v;
}

namespace {
int64_t last(const Tensor& t) { return t.dim(-1); }
int64_t rows(const Tensor& t) { return static_cast<int64_t>(t.numel()) / std::max<int64_t>(1, last(t)); }
float silu(float v) { return v / (1.0f + std::exp(-v)); }
}  // namespace

void embedding(const Tensor& weight, const Tensor& ids, Tensor& out) {
  if (!have_avx2() || !embedding_fast(weight, ids, out)) embedding_reference(weight, ids, out);
}

void embedding_reference(const Tensor& weight, const Tensor& ids, Tensor& out) {
  const int64_t d = weight.dim(1), V = weight.dim(0);
  float* o = out.data<float>();
  for (uint64_t i = 0; i < ids.numel(); ++i) {
    int64_t id = ids.dtype() == DType::I64 ? ids.data<int64_t>()[i] : ids.data<int32_t>()[i];
    id = std::clamp<int64_t>(id, 0, V - 1);  // ids are range-checked by the caller
    if (weight.dtype() == DType::F32) {
      std::memcpy(o + i * d, weight.data<float>() + id * d, static_cast<size_t>(d) * 4);
      continue;
    }
    for (int64_t j = 0; j < d; ++j) o[i * d + j] = load(weight, static_cast<uint64_t>(id * d + j));
  }
}

void linear_reference(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) {
  const int64_t M = rows(x), K = last(x), N = last(out);
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = bias ? load(*bias, static_cast<uint64_t>(n)) : 0.0;
      for (int64_t k = 0; k < K; ++k)
        acc += static_cast<double>(xs[m * K + k]) * load(w, static_cast<uint64_t>(w_in_out ? k * N + n : n * K + k));
      o[m * N + n] = static_cast<float>(acc);
    }
}

void linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) {
  if (!linear_fast(x, w, bias, w_in_out, out)) linear_reference(x, w, bias, w_in_out, out);
}

void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) {
  if (!have_avx2() || !rms_norm_fast(x, floats(w), eps, out)) rms_norm_reference(x, w, eps, out);
}

void rms_norm_reference(const Tensor& x, const Tensor& w, float eps, Tensor& out) {
  const int64_t d = last(x);
  const std::vector<float> wf = floats(w);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows(x); ++r) {
    const float* xs = x.data<float>() + r * d;
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(xs[j]) * xs[j];
    const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(d)) + eps);
    for (int64_t j = 0; j < d; ++j) out.data<float>()[r * d + j] = xs[j] * inv * wf[j];
  }
}

void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out) {
  const std::vector<float> bf = b ? floats(*b) : std::vector<float>(static_cast<size_t>(last(x)), 0.0f);
  if (!have_avx2() || !layer_norm_fast(x, floats(w), bf, eps, out)) layer_norm_reference(x, w, b, eps, out);
}

void layer_norm_reference(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out) {
  const int64_t d = last(x);
  const std::vector<float> wf = floats(w), bf = b ? floats(*b) : std::vector<float>(static_cast<size_t>(d), 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows(x); ++r) {
    const float* xs = x.data<float>() + r * d;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < d; ++j) mean += xs[j];
    mean /= static_cast<double>(d);
    for (int64_t j = 0; j < d; ++j) var += (xs[j] - mean) * (xs[j] - mean);
    const double inv = 1.0 / std::sqrt(var / static_cast<double>(d) + eps);
    for (int64_t j = 0; j < d; ++j)
      out.data<float>()[r * d + j] = static_cast<float>((xs[j] - mean) * inv * wf[j] + bf[j]);
  }
}

void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps, Tensor& out) {
  if (!have_avx2() || !gated_rms_norm_fast(y, z, floats(w), groups, eps, out)) gated_rms_norm_reference(y, z, w, groups, eps, out);
}

void gated_rms_norm_reference(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps, Tensor& out) {
  const int64_t d = last(y), gs = d / groups;
  const std::vector<float> wf = floats(w);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows(y); ++r) {
    std::vector<float> v(static_cast<size_t>(d));
    for (int64_t j = 0; j < d; ++j) v[j] = y.data<float>()[r * d + j] * silu(z.data<float>()[r * d + j]);
    for (int64_t g = 0; g < groups; ++g) {
      double ss = 0;
      for (int64_t j = g * gs; j < (g + 1) * gs; ++j) ss += static_cast<double>(v[j]) * v[j];
      const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(gs)) + eps);
      for (int64_t j = g * gs; j < (g + 1) * gs; ++j)
        out.data<float>()[r * d + j] = v[j] * inv * wf[j];
    }
  }
}

void activation(const Tensor& x, int act, Tensor& out) {
  if (!have_avx2() || !activation_fast(x, act, out)) activation_reference(x, act, out);
}

void activation_reference(const Tensor& x, int act, Tensor& out) {
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  const auto n = static_cast<int64_t>(x.numel());
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float v = xs[i];
    switch (act) {
      case 0: o[i] = silu(v); break;                                                   // silu
      case 1: o[i] = 0.5f * v * (1.0f + std::erf(v / std::sqrt(2.0f))); break;         // gelu
      case 2: o[i] = 0.5f * v * (1.0f + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v))); break;
      case 3: o[i] = std::max(v, 0.0f); break;                                         // relu
      case 4: o[i] = std::max(v, 0.0f) * std::max(v, 0.0f); break;                     // relu2
      default: o[i] = v > 20.0f ? v : std::log1p(std::exp(v)); break;                  // softplus
    }
  }
}

void binary(const Tensor& a, const Tensor& b, int op, Tensor& out) {
  if (!have_avx2() || !binary_fast(a, floats(b), op, out)) binary_reference(a, b, op, out);
}

void binary_reference(const Tensor& a, const Tensor& b, int op, Tensor& out) {
  const std::vector<float> bf = floats(b);
  const auto bn = static_cast<int64_t>(bf.size()), n = static_cast<int64_t>(a.numel());
  const float* as = a.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) o[i] = op == 0 ? as[i] + bf[i % bn] : as[i] * bf[i % bn];
}

void slice_last(const Tensor& x, int64_t start, Tensor& out) {
  const int64_t in = last(x), n = last(out);
  for (int64_t r = 0; r < rows(x); ++r)
    std::memcpy(out.data<float>() + r * n, x.data<float>() + r * in + start, static_cast<size_t>(n) * 4);
}

void concat_last(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t na = last(a), nb = last(b);
  for (int64_t r = 0; r < rows(a); ++r) {
    std::memcpy(out.data<float>() + r * (na + nb), a.data<float>() + r * na, static_cast<size_t>(na) * 4);
    std::memcpy(out.data<float>() + r * (na + nb) + na, b.data<float>() + r * nb, static_cast<size_t>(nb) * 4);
  }
}

void rope(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out) {
  if (!have_avx2() || !rope_fast(x, inv_freq, past, out)) rope_reference(x, inv_freq, past, out);
}

void rope_reference(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), hd = x.dim(3), half = hd / 2;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const float* xs = x.data<float>() + ((b * T + t) * H + h) * hd;
        float* o = out.data<float>() + ((b * T + t) * H + h) * hd;
        for (int64_t i = 0; i < half; ++i) {
          // Angles in float32 as transformers computes them.
          const float a = static_cast<float>(past + t) * inv_freq[static_cast<size_t>(i)];
          const float cs = std::cos(a), sn = std::sin(a);
          o[i] = xs[i] * cs - xs[i + half] * sn;
          o[i + half] = xs[i + half] * cs + xs[i] * sn;
        }
      }
}

void attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal, int64_t past,
               float masked_value, const Tensor* key_padding, const Tensor* query_padding, Tensor& out) {
  if (!have_avx2() || !attention_fast(q, k, v, scale, causal, past, masked_value, key_padding, query_padding, out))
    attention_reference(q, k, v, scale, causal, past, masked_value, key_padding, query_padding, out);
}

void attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal, int64_t past,
                         float masked_value, const Tensor* key_padding, const Tensor* query_padding, Tensor& out) {
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Tk = k.dim(1), Hkv = k.dim(2);
  const int64_t rep = Hq / Hkv;
  std::vector<float> s(static_cast<size_t>(Tk));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const float* qs = q.data<float>() + ((b * T + t) * Hq + h) * hd;
        const bool row_masked = query_padding && load(*query_padding, static_cast<uint64_t>(b * T + t)) == 0.0f;
        float mx = -INFINITY;
        for (int64_t j = 0; j < Tk; ++j) {
          const float* ks = k.data<float>() + ((b * Tk + j) * Hkv + h / rep) * hd;
          float dot = 0;
          for (int64_t e = 0; e < hd; ++e) dot += qs[e] * ks[e];
          const bool masked = row_masked || (causal && j > past + t) ||
                              (key_padding && load(*key_padding, static_cast<uint64_t>(b * Tk + j)) == 0.0f);
          s[j] = masked ? masked_value : dot * scale;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < Tk; ++j) sum += (s[j] = std::exp(s[j] - mx));
        float* o = out.data<float>() + (b * T + t) * Hq * hd + h * hd;
        for (int64_t e = 0; e < hd; ++e) o[e] = 0;
        for (int64_t j = 0; j < Tk; ++j) {
          const float p = static_cast<float>(s[j] / sum);
          const float* vs = v.data<float>() + ((b * Tk + j) * Hkv + h / rep) * hd;
          for (int64_t e = 0; e < hd; ++e) o[e] += p * vs[e];
        }
      }
}

void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out) {
  if (!have_avx2() || !causal_conv1d_fast(x, w, bias, state, out)) causal_conv1d_reference(x, w, bias, state, out);
}

void causal_conv1d_reference(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out) {
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2), K = w.dim(2);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      // window = K−1 previous inputs (from the state) followed by this chunk's inputs
      std::vector<float> win(static_cast<size_t>(K - 1 + T));
      for (int64_t k = 0; k < K - 1; ++k) win[k] = state.data<float>()[(b * C + c) * (K - 1) + k];
      for (int64_t t = 0; t < T; ++t) win[K - 1 + t] = x.data<float>()[(b * T + t) * C + c];
      for (int64_t t = 0; t < T; ++t) {
        float acc = bias ? load(*bias, static_cast<uint64_t>(c)) : 0.0f;
        for (int64_t k = 0; k < K; ++k) acc += load(w, static_cast<uint64_t>(c * K + k)) * win[t + k];
        out.data<float>()[(b * T + t) * C + c] = acc;
      }
      for (int64_t k = 0; k < K - 1; ++k) state.data<float>()[(b * C + c) * (K - 1) + k] = win[T + k];
    }
}

void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
              const Tensor& D, Tensor& state, Tensor& out) {
  if (!have_avx2() || !ssm_scan_fast(x, dt, A, Bm, Cm, D, state, out)) ssm_scan_reference(x, dt, A, Bm, Cm, D, state, out);
}

void ssm_scan_reference(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                        const Tensor& D, Tensor& state, Tensor& out) {
  const int64_t Bn = x.dim(0), T = x.dim(1), H = x.dim(2), P = x.dim(3), G = Bm.dim(2), N = Bm.dim(3);
  for (int64_t b = 0; b < Bn; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / (H / G);
      float* S = state.data<float>() + (b * H + h) * P * N;
      const float a = load(A, static_cast<uint64_t>(h)), d = load(D, static_cast<uint64_t>(h));
      for (int64_t t = 0; t < T; ++t) {
        const float delta = dt.data<float>()[(b * T + t) * H + h];
        const float decay = std::exp(delta * a);
        const float* xs = x.data<float>() + ((b * T + t) * H + h) * P;
        const float* Bs = Bm.data<float>() + ((b * T + t) * G + g) * N;
        const float* Cs = Cm.data<float>() + ((b * T + t) * G + g) * N;
        float* y = out.data<float>() + ((b * T + t) * H + h) * P;
        for (int64_t p = 0; p < P; ++p) {
          float acc = 0;
          for (int64_t n = 0; n < N; ++n) {
            float& s = S[p * N + n];
            s = decay * s + delta * xs[p] * Bs[n];
            acc += s * Cs[n];
          }
          y[p] = acc + d * xs[p];
        }
      }
    }
}

void write_time(Tensor& dst, const Tensor& src, int64_t at) {
  const int64_t B = src.dim(0), T = src.dim(1), Tmax = dst.dim(1);
  const int64_t inner = static_cast<int64_t>(src.numel()) / (B * std::max<int64_t>(T, 1));
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(dst.data<float>() + (b * Tmax + at) * inner, src.data<float>() + b * T * inner,
                static_cast<size_t>(T * inner) * 4);
}

void slice_time(const Tensor& src, int64_t start, Tensor& out) {
  const int64_t B = out.dim(0), T = out.dim(1), Tmax = src.dim(1);
  const int64_t inner = static_cast<int64_t>(out.numel()) / (B * std::max<int64_t>(T, 1));
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(out.data<float>() + b * T * inner, src.data<float>() + (b * Tmax + start) * inner,
                static_cast<size_t>(T * inner) * 4);
}

void sinusoid_table(Tensor& out) {
  const int64_t T = out.dim(0), d = out.dim(1);
  for (int64_t p = 0; p < T; ++p)
    for (int64_t i = 0; i < d; i += 2) {
      const double angle = static_cast<double>(p) / std::pow(10000.0, static_cast<double>(i) / static_cast<double>(d));
      out.data<float>()[p * d + i] = static_cast<float>(std::sin(angle));
      if (i + 1 < d) out.data<float>()[p * d + i + 1] = static_cast<float>(std::cos(angle));
    }
}

void neg_exp(const Tensor& x, Tensor& out) {
  for (uint64_t i = 0; i < x.numel(); ++i) out.data<float>()[i] = -std::exp(load(x, i));
}

}  // namespace anatomy::cpu
