// nn.Linear / Conv1D: the scalar definition (double accumulation) and dispatch to the fast path
// (gemm.cpp: oneDNN, AVX2 and AVX-512 GEMV and small-M kernels).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/gemm.h"

namespace anatomy::cpu {

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
  if (linear_fast(x, w, bias, w_in_out, out)) count_fast(Kernel::linear);
  else linear_reference(x, w, bias, w_in_out, out);
}

}  // namespace anatomy::cpu
