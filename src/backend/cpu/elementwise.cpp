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
#pragma omp parallel for schedule(static) if (n > 65536)
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
  dispatch(Kernel::binary, [&] { return binary_fast(a, floats(b), op, out); },
           [&] { binary_reference(a, b, op, out); });
}

void binary_reference(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) {
  const std::vector<float> bf = floats(b);
  const auto bn = static_cast<int64_t>(bf.size()), n = static_cast<int64_t>(a.numel());
  const float* as = a.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) o[i] = op == BinaryOp::add ? as[i] + bf[i % bn] : as[i] * bf[i % bn];
}

void neg_exp(const Tensor& x, Tensor& out) {
  for (uint64_t i = 0; i < x.numel(); ++i) out.data<float>()[i] = -std::exp(load(x, i));
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

}  // namespace anatomy::cpu
