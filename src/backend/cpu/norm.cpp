// RMSNorm, LayerNorm and the Mamba2 gated grouped RMSNorm: scalar references and dispatch to the
// AVX2 fast paths (norm_avx2.cpp).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) {
  dispatch(Kernel::rms_norm, [&] { return rms_norm_fast(x, floats(w), eps, out); },
           [&] { rms_norm_reference(x, w, eps, out); });
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
  dispatch(Kernel::layer_norm, [&] { return layer_norm_fast(x, floats(w), bf, eps, out); },
           [&] { layer_norm_reference(x, w, b, eps, out); });
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
  dispatch(Kernel::gated_rms_norm, [&] { return gated_rms_norm_fast(y, z, floats(w), groups, eps, out); },
           [&] { gated_rms_norm_reference(y, z, w, groups, eps, out); });
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

}  // namespace anatomy::cpu
