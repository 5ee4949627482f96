// Mamba2 scan in the chunked SSD form (§3.6): within a chunk of Q steps with cumulative log decay
// c_t = Σ_{s≤t} Δ_s·A, the output is an L×L masked "attention" of C against B plus the carried
// state read through C; the state is carried chunk to chunk. Mathematically identical to the
// recurrence (kernels.cpp, ssm_scan_reference); its work is dense L×N and L×P products that
// vectorise well, so prefill of long sequences uses it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

void ssm_scan_chunked(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                      const Tensor& D, Tensor& state, Tensor& out, int64_t chunk) {
  const int64_t Bn = x.dim(0), T = x.dim(1), H = x.dim(2), P = x.dim(3), G = Bm.dim(2), N = Bm.dim(3);
#pragma omp parallel
  {
    std::vector<float> c(static_cast<size_t>(chunk)), W(static_cast<size_t>(chunk * chunk));
#pragma omp for collapse(2) schedule(static)
    for (int64_t b = 0; b < Bn; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / G);
        float* S = state.data<float>() + (b * H + h) * P * N;  // (P, N)
        const float a = load(A, static_cast<uint64_t>(h)), d = load(D, static_cast<uint64_t>(h));
        auto xs = [&](int64_t t) { return x.data<float>() + ((b * T + t) * H + h) * P; };
        auto Bs = [&](int64_t t) { return Bm.data<float>() + ((b * T + t) * G + g) * N; };
        auto Cs = [&](int64_t t) { return Cm.data<float>() + ((b * T + t) * G + g) * N; };
        auto delta = [&](int64_t t) { return dt.data<float>()[(b * T + t) * H + h]; };
        for (int64_t t0 = 0; t0 < T; t0 += chunk) {
          const int64_t L = std::min(chunk, T - t0);
          float acc = 0;
          for (int64_t i = 0; i < L; ++i) c[i] = acc += delta(t0 + i) * a;
          // W[i][j] = (C_i·B_j)·exp(c_i − c_j)·Δ_j for j ≤ i
          for (int64_t i = 0; i < L; ++i)
            for (int64_t j = 0; j <= i; ++j) {
              float dot = 0;
              const float *ci = Cs(t0 + i), *bj = Bs(t0 + j);
              for (int64_t n = 0; n < N; ++n) dot += ci[n] * bj[n];
              W[i * chunk + j] = dot * std::exp(c[i] - c[j]) * delta(t0 + j);
            }
          for (int64_t i = 0; i < L; ++i) {
            float* y = out.data<float>() + ((b * T + t0 + i) * H + h) * P;
            const float* xi = xs(t0 + i);
            const float decay_in = std::exp(c[i]);
            const float* ci = Cs(t0 + i);
            for (int64_t p = 0; p < P; ++p) {
              float v = 0;
              for (int64_t n = 0; n < N; ++n) v += ci[n] * S[p * N + n];  // carried state, read through C
              y[p] = decay_in * v + d * xi[p];
            }
            for (int64_t j = 0; j <= i; ++j) {
              const float w = W[i * chunk + j];
              const float* xj = xs(t0 + j);
              for (int64_t p = 0; p < P; ++p) y[p] += w * xj[p];
            }
          }
          // S ← exp(c_L)·S + Σ_j exp(c_L − c_j)·Δ_j·x_j ⊗ B_j
          const float decay_all = std::exp(c[L - 1]);
          for (int64_t k = 0; k < P * N; ++k) S[k] *= decay_all;
          for (int64_t j = 0; j < L; ++j) {
            const float f = std::exp(c[L - 1] - c[j]) * delta(t0 + j);
            const float *xj = xs(t0 + j), *bj = Bs(t0 + j);
            for (int64_t p = 0; p < P; ++p) {
              const float s = f * xj[p];
              for (int64_t n = 0; n < N; ++n) S[p * N + n] += s * bj[n];
            }
          }
        }
      }
  }
}

}  // namespace anatomy::cpu
