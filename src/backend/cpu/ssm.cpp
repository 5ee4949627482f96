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

}  // namespace anatomy::cpu
