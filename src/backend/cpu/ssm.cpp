// Mamba2 selective scan, recurrent form: scalar reference and dispatch (ssm_avx2.cpp; the
// chunked SSD form is ssd_chunked.cpp).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
              const Tensor& D, Tensor& state, Tensor& out) {
  dispatch(Kernel::ssm_scan, [&] { return ssm_scan_fast(x, dt, A, Bm, Cm, D, state, out); },
           [&] { ssm_scan_reference(x, dt, A, Bm, Cm, D, state, out); });
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

// The recurrence S_t = a_t·S_{t−1} + Δ_t·x_t⊗B_t, y_t = S_t·C_t + D·x_t (a_t = exp(Δ_t·A)) run
// backwards from a zero initial state: the forward states of one (batch, head) are recomputed
// and kept (T·P·N floats per thread), then for t = T … 1 with dS the gradient into S_t:
//   dS += dy_t⊗C_t;  dC_t += Σ_p dy_t·S_t;  dx_t += D·dy_t + Δ_t·dS·B_t;  dB_t += Δ_t·dSᵀ·x_t;
//   dΔ_t += Σ dS∘(x_t⊗B_t) + A·a_t·⟨dS, S_{t−1}⟩;  dA += Δ_t·a_t·⟨dS, S_{t−1}⟩;  dS ← a_t·dS.
// Threads take (batch, group) pairs, so the heads sharing a group's B and C never race.
void ssm_scan_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                       const Tensor& D, const Tensor& dy, Tensor& dx, Tensor& ddt, Tensor& dA, Tensor& dB, Tensor& dC,
                       Tensor& dD) {
  const int64_t Bn = x.dim(0), T = x.dim(1), H = x.dim(2), P = x.dim(3), G = Bm.dim(2), N = Bm.dim(3), hpg = H / G;
  std::vector<double> dA_acc(static_cast<size_t>(Bn * H)), dD_acc(static_cast<size_t>(Bn * H));
#pragma omp parallel for collapse(2) schedule(dynamic)
  for (int64_t b = 0; b < Bn; ++b)
    for (int64_t g = 0; g < G; ++g) {
      std::vector<float> S(static_cast<size_t>((T + 1) * P * N));  // S[0] = 0, S[t+1] after step t
      std::vector<float> dS(static_cast<size_t>(P * N));
      for (int64_t h = g * hpg; h < (g + 1) * hpg; ++h) {
        const float a = load(A, static_cast<uint64_t>(h)), d = load(D, static_cast<uint64_t>(h));
        auto at = [&](const Tensor& t, int64_t step, int64_t width, int64_t idx) {
          return t.data<float>() + ((b * T + step) * width + idx) * t.dim(3);
        };
        for (int64_t t = 0; t < T; ++t) {
          const float delta = dt.data<float>()[(b * T + t) * H + h], decay = std::exp(delta * a);
          const float* xs = at(x, t, H, h);
          const float* Bs = at(Bm, t, G, g);
          const float* prev = S.data() + t * P * N;
          float* cur = S.data() + (t + 1) * P * N;
          for (int64_t p = 0; p < P; ++p)
            for (int64_t n = 0; n < N; ++n) cur[p * N + n] = decay * prev[p * N + n] + delta * xs[p] * Bs[n];
        }
        std::fill(dS.begin(), dS.end(), 0.0f);
        double dA_h = 0, dD_h = 0;
        for (int64_t t = T - 1; t >= 0; --t) {
          const float delta = dt.data<float>()[(b * T + t) * H + h], decay = std::exp(delta * a);
          const float* xs = at(x, t, H, h);
          const float* Bs = at(Bm, t, G, g);
          const float* Cs = at(Cm, t, G, g);
          const float* gy = at(dy, t, H, h);
          float* dxs = at(dx, t, H, h);
          float* dBs = at(dB, t, G, g);
          float* dCs = at(dC, t, G, g);
          const float* St = S.data() + (t + 1) * P * N;
          const float* Sp = S.data() + t * P * N;
          double ddelta = 0, dot_prev = 0;
          for (int64_t p = 0; p < P; ++p) {
            dD_h += static_cast<double>(gy[p]) * xs[p];
            double dxp = d * gy[p];
            for (int64_t n = 0; n < N; ++n) {
              float& ds = dS[p * N + n];
              ds += gy[p] * Cs[n];
              dCs[n] += gy[p] * St[p * N + n];
              dxp += static_cast<double>(delta) * ds * Bs[n];
              dBs[n] += delta * ds * xs[p];
              ddelta += static_cast<double>(ds) * xs[p] * Bs[n];
              dot_prev += static_cast<double>(ds) * Sp[p * N + n];
              ds *= decay;
            }
            dxs[p] += static_cast<float>(dxp);
          }
          ddt.data<float>()[(b * T + t) * H + h] += static_cast<float>(ddelta + a * decay * dot_prev);
          dA_h += delta * decay * dot_prev;
        }
        dA_acc[b * H + h] = dA_h;
        dD_acc[b * H + h] = dD_h;
      }
    }
  for (int64_t b = 0; b < Bn; ++b)
    for (int64_t h = 0; h < H; ++h) {
      dA.data<float>()[h] += static_cast<float>(dA_acc[b * H + h]);
      dD.data<float>()[h] += static_cast<float>(dD_acc[b * H + h]);
    }
}

}  // namespace anatomy::cpu
