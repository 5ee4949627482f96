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

// y = x·r·w, r = (mean(x²) + eps)^−½ per row: dx = r·g − x·r³·mean(x∘g) with g = w∘dy;
// dw += Σ_rows dy∘x·r.
void rms_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw) {
  dispatch(Kernel::rms_norm_backward, [&] { return rms_norm_backward_fast(x, w, eps, dy, dx, dw); },
           [&] { rms_norm_backward_reference(x, w, eps, dy, dx, dw); });
}

void rms_norm_backward_reference(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw) {
  const int64_t C = last(x), R = rows(x);
  const std::vector<float> wf = floats(w);
  column_sums(R, C, dw ? dw->data<float>() : nullptr, [&](int64_t r, float* dws) {
    const float* xs = x.data<float>() + r * C;
    const float* g = dy.data<float>() + r * C;
    float* d = dx.data<float>() + r * C;
    double ss = 0, xg = 0;
    for (int64_t j = 0; j < C; ++j) {
      ss += static_cast<double>(xs[j]) * xs[j];
      xg += static_cast<double>(xs[j]) * wf[j] * g[j];
    }
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(C) + eps);
    const double k = inv * inv * inv * xg / static_cast<double>(C);
    for (int64_t j = 0; j < C; ++j) d[j] += static_cast<float>(inv * wf[j] * g[j] - xs[j] * k);
    if (dws)
      for (int64_t j = 0; j < C; ++j) dws[j] += g[j] * xs[j] * static_cast<float>(inv);
  });
}

// y = x̂∘w + b, x̂ = (x − μ)·rstd: dx = rstd·(g − mean(g) − x̂·mean(g∘x̂)) with g = w∘dy;
// dw += Σ dy∘x̂, db += Σ dy.
void layer_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw,
                         Tensor* dbias) {
  dispatch(Kernel::layer_norm_backward, [&] { return layer_norm_backward_fast(x, w, eps, dy, dx, dw, dbias); },
           [&] { layer_norm_backward_reference(x, w, eps, dy, dx, dw, dbias); });
}

void layer_norm_backward_reference(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw,
                                   Tensor* dbias) {
  const int64_t C = last(x), R = rows(x);
  const std::vector<float> wf = floats(w);
  std::vector<float> sums(static_cast<size_t>(2 * C));  // dw then db
  column_sums(R, 2 * C, sums.data(), [&](int64_t r, float* acc) {
    const float* xs = x.data<float>() + r * C;
    const float* g = dy.data<float>() + r * C;
    float* d = dx.data<float>() + r * C;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < C; ++j) mean += xs[j];
    mean /= static_cast<double>(C);
    for (int64_t j = 0; j < C; ++j) var += (xs[j] - mean) * (xs[j] - mean);
    const double rstd = 1.0 / std::sqrt(var / static_cast<double>(C) + eps);
    double mg = 0, mgx = 0;
    for (int64_t j = 0; j < C; ++j) {
      const double xh = (xs[j] - mean) * rstd, gw = static_cast<double>(g[j]) * wf[j];
      mg += gw;
      mgx += gw * xh;
    }
    mg /= static_cast<double>(C);
    mgx /= static_cast<double>(C);
    for (int64_t j = 0; j < C; ++j) {
      const double xh = (xs[j] - mean) * rstd;
      d[j] += static_cast<float>(rstd * (g[j] * wf[j] - mg - xh * mgx));
      acc[j] += g[j] * static_cast<float>(xh);
      acc[C + j] += g[j];
    }
  });
  if (dw) for (int64_t j = 0; j < C; ++j) dw->data<float>()[j] += sums[j];
  if (dbias) for (int64_t j = 0; j < C; ++j) dbias->data<float>()[j] += sums[C + j];
}

// out = v·r·w per group with v = y∘silu(z): dv = r·g − v·r³·mean(v∘g) (g = w∘dout, per group),
// dy += dv∘silu(z), dz += dv∘y∘silu'(z), dw += Σ dout∘v·r.
void gated_rms_norm_backward(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps,
                             const Tensor& dout, Tensor& dy, Tensor& dz, Tensor* dw) {
  const int64_t d = last(y), gs = d / groups, R = rows(y);
  const std::vector<float> wf = floats(w);
  float *dys = dy.data<float>(), *dzs = dz.data<float>();
  column_sums(R, d, dw ? dw->data<float>() : nullptr, [&](int64_t r, float* dws) {
    const float* ys = y.data<float>() + r * d;
    const float* zs = z.data<float>() + r * d;
    const float* g = dout.data<float>() + r * d;
    thread_local std::vector<double> v;  // y∘silu(z) of the row, one buffer per thread
    v.resize(static_cast<size_t>(d));
    for (int64_t j = 0; j < d; ++j) v[j] = static_cast<double>(ys[j]) * silu(zs[j]);
    for (int64_t k = 0; k < groups; ++k) {
      double ss = 0, vg = 0;
      for (int64_t j = k * gs; j < (k + 1) * gs; ++j) {
        ss += v[j] * v[j];
        vg += v[j] * wf[j] * g[j];
      }
      const double inv = 1.0 / std::sqrt(ss / static_cast<double>(gs) + eps);
      const double c = inv * inv * inv * vg / static_cast<double>(gs);
      for (int64_t j = k * gs; j < (k + 1) * gs; ++j) {
        const double dv = inv * wf[j] * g[j] - v[j] * c;
        const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(zs[j])));
        dys[r * d + j] += static_cast<float>(dv * zs[j] * s);
        dzs[r * d + j] += static_cast<float>(dv * ys[j] * s * (1.0 + zs[j] * (1.0 - s)));
        if (dws) dws[j] += static_cast<float>(g[j] * v[j] * inv);
      }
    }
  });
}

}  // namespace anatomy::cpu
