// Activations, binary ops with broadcast, −exp, last-dimension slices and concatenation, RoPE:
// scalar references and dispatch to the AVX2 fast paths (elementwise_avx2.cpp).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void activation(const Tensor& x, Activation act, Tensor& out) {
  dispatch(Kernel::activation, [&] { return activation_fast(x, act, out); },
           [&] { activation_reference(x, act, out); });
}

void activation_reference(const Tensor& x, Activation act, Tensor& out) {
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  const auto n = static_cast<int64_t>(x.numel());
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) {
    const float v = xs[i];
    switch (act) {
      case Activation::silu: o[i] = silu(v); break;
      case Activation::gelu: o[i] = 0.5f * v * (1.0f + std::erf(v / std::sqrt(2.0f))); break;
      case Activation::gelu_tanh: o[i] = 0.5f * v * (1.0f + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v))); break;
      case Activation::relu: o[i] = std::max(v, 0.0f); break;
      case Activation::relu2: o[i] = std::max(v, 0.0f) * std::max(v, 0.0f); break;
      case Activation::softplus: o[i] = v > 20.0f ? v : std::log1p(std::exp(v)); break;
    }
  }
}

void binary(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) {
  dispatch(Kernel::binary,
           [&] {
             const auto bn = static_cast<int64_t>(b.numel());
             if (b.dtype() == DType::F32) return binary_fast(a, b.data<float>(), bn, op, out);
             return binary_fast(a, floats(b).data(), bn, op, out);
           },
           [&] { binary_reference(a, b, op, out); });
}

void binary_reference(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) {
  const std::vector<float> bf = floats(b);
  const auto bn = static_cast<int64_t>(bf.size()), n = static_cast<int64_t>(a.numel());
  const float* as = a.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) o[i] = op == BinaryOp::add ? as[i] + bf[i % bn] : as[i] * bf[i % bn];
}

void neg_exp(const Tensor& x, Tensor& out) {
  for (uint64_t i = 0; i < x.numel(); ++i) out.data<float>()[i] = -std::exp(load(x, i));
}

void slice_last(const Tensor& x, int64_t start, Tensor& out) {
  const int64_t in = last(x), n = last(out), R = rows(x);
  const float* xs = x.data<float>() + start;
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (R * n > kParallelElements)
  for (int64_t r = 0; r < R; ++r) std::memcpy(o + r * n, xs + r * in, static_cast<size_t>(n) * 4);
}

void concat_last(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t na = last(a), nb = last(b);
  for (int64_t r = 0; r < rows(a); ++r) {
    std::memcpy(out.data<float>() + r * (na + nb), a.data<float>() + r * na, static_cast<size_t>(na) * 4);
    std::memcpy(out.data<float>() + r * (na + nb) + na, b.data<float>() + r * nb, static_cast<size_t>(nb) * 4);
  }
}

void rope(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out) {
  dispatch(Kernel::rope, [&] { return rope_fast(x, inv_freq, past, out); },
           [&] { rope_reference(x, inv_freq, past, out); });
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

void clamp(const Tensor& x, float lo, float hi, Tensor& out) {
  const auto n = static_cast<int64_t>(x.numel());
  for (int64_t i = 0; i < n; ++i) out.data<float>()[i] = std::clamp(x.data<float>()[i], lo, hi);
}

void fill_zero(Tensor& t) {
  const auto n = static_cast<int64_t>(t.nbytes());
  std::byte* p = t.raw();
#pragma omp parallel for schedule(static) if (n > (1 << 22))
  for (int64_t i = 0; i < n; i += 1 << 20) std::memset(p + i, 0, static_cast<size_t>(std::min<int64_t>(1 << 20, n - i)));
}

void accumulate(Tensor& dst, const Tensor& src) {
  const auto n = static_cast<int64_t>(dst.numel());
  float* d = dst.data<float>();
  const float* s = src.data<float>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) d[i] += s[i];
}

namespace {

// d act(v) / dv, as the forward computes act (activation_reference), in float as the forward.
float activation_slope(Activation act, float v) {
  switch (act) {
    case Activation::silu: {
      const float s = 1.0f / (1.0f + std::exp(-v));
      return s * (1.0f + v * (1.0f - s));
    }
    case Activation::gelu:
      return 0.5f * (1.0f + std::erf(v * 0.70710678f)) + v * std::exp(-0.5f * v * v) * 0.39894228f;
    case Activation::gelu_tanh: {
      const float k = 0.7978845608f, th = std::tanh(k * (v + 0.044715f * v * v * v));
      return 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * k * (1.0f + 3 * 0.044715f * v * v);
    }
    case Activation::relu: return v > 0 ? 1.0f : 0.0f;
    case Activation::relu2: return v > 0 ? 2.0f * v : 0.0f;
    case Activation::softplus: return v > 20.0f ? 1.0f : 1.0f / (1.0f + std::exp(-v));
  }
  return 0;
}

// Uniform in [0, 1) from (seed, i): splitmix64, so any element's mask is drawn independently.
float uniform_at(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

}  // namespace

void activation_backward(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx) {
  dispatch(Kernel::activation_backward, [&] { return activation_backward_fast(x, act, dy, dx); },
           [&] { activation_backward_reference(x, act, dy, dx); });
}

void activation_backward_reference(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx) {
  const auto n = static_cast<int64_t>(x.numel());
  const float* xs = x.data<float>();
  const float* g = dy.data<float>();
  float* d = dx.data<float>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) d[i] += g[i] * activation_slope(act, xs[i]);
}

void binary_backward(const Tensor& a, const Tensor& b, BinaryOp op, const Tensor& dout, Tensor* da, Tensor* db) {
  const auto n = static_cast<int64_t>(a.numel()), bn = static_cast<int64_t>(b.numel());
  const float* g = dout.data<float>();
  const float* as = a.data<float>();
  const float* bs = b.data<float>();  // F32: the tape takes gradients of F32 tensors only
  const bool mul = op == BinaryOp::mul;
  if (da) {
    float* d = da->data<float>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
    for (int64_t r = 0; r < n / bn; ++r)
      for (int64_t j = 0; j < bn; ++j) d[r * bn + j] += mul ? g[r * bn + j] * bs[j] : g[r * bn + j];
  }
  if (db && bn == n) {  // no broadcast: elementwise
    float* d = db->data<float>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
    for (int64_t i = 0; i < n; ++i) d[i] += mul ? g[i] * as[i] : g[i];
  } else if (db) {  // summed over the leading dims b broadcasts across
    column_sums(n / bn, bn, db->data<float>(), [&](int64_t r, float* acc) {
      for (int64_t j = 0; j < bn; ++j) acc[j] += mul ? g[r * bn + j] * as[r * bn + j] : g[r * bn + j];
    });
  }
}

void neg_exp_backward(const Tensor& out, const Tensor& dy, Tensor& dx) {
  const float *o = out.data<float>(), *g = dy.data<float>();
  float* d = dx.data<float>();
  for (uint64_t i = 0; i < out.numel(); ++i) d[i] += g[i] * o[i];
}

void clamp_backward(const Tensor& x, float lo, float hi, const Tensor& dy, Tensor& dx) {
  const auto n = static_cast<int64_t>(x.numel());
  const float *xs = x.data<float>(), *g = dy.data<float>();
  float* d = dx.data<float>();
  for (int64_t i = 0; i < n; ++i)  // PyTorch passes the gradient on the closed interval
    if (xs[i] >= lo && xs[i] <= hi) d[i] += g[i];
}

void dropout(const Tensor& x, float p, uint64_t seed, Tensor& out) {
  const auto n = static_cast<int64_t>(x.numel());
  const float scale = 1.0f / (1.0f - p);
  const float* xs = x.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i) o[i] = uniform_at(seed, static_cast<uint64_t>(i)) < p ? 0.0f : xs[i] * scale;
}

void dropout_backward(const Tensor& dy, float p, uint64_t seed, Tensor& dx) {
  const auto n = static_cast<int64_t>(dy.numel());
  const float scale = 1.0f / (1.0f - p);
  const float* g = dy.data<float>();
  float* d = dx.data<float>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
  for (int64_t i = 0; i < n; ++i)
    if (uniform_at(seed, static_cast<uint64_t>(i)) >= p) d[i] += g[i] * scale;
}

void slice_last_backward(const Tensor& dy, int64_t start, Tensor& dx) {
  const int64_t n = last(dy), w = last(dx), R = rows(dy);
  const float* g = dy.data<float>();
  float* d = dx.data<float>() + start;
#pragma omp parallel for schedule(static) if (R * n > kParallelElements)
  for (int64_t r = 0; r < R; ++r)
    for (int64_t j = 0; j < n; ++j) d[r * w + j] += g[r * n + j];
}

// The forward rotates each (i, i + half) pair by +angle; its transpose rotates by −angle, which is
// the forward with the frequencies negated (exactly: negation is exact in float).
void rope_backward(const Tensor& dy, const std::vector<float>& inv_freq, int64_t past, Tensor& dx) {
  std::vector<float> negated(inv_freq.size());
  for (size_t i = 0; i < inv_freq.size(); ++i) negated[i] = -inv_freq[i];
  Tensor rotated = Tensor::empty(DType::F32, dy.shape());
  rope(dy, negated, past, rotated);
  accumulate(dx, rotated);
}

}  // namespace anatomy::cpu
