// nn.Linear / Conv1D: the scalar definition (double accumulation) and dispatch to the fast path
// (gemm.cpp: oneDNN, the AVX2 GEMV and small-M kernels).
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

bool linear_group(const Tensor& x, const std::vector<Tensor>& ws, const std::vector<const Tensor*>& biases,
                  std::vector<Tensor>& outs) {
  if (!linear_group_fast(x, ws, outs)) return false;
  count_fast(Kernel::linear_group);
  for (size_t i = 0; i < ws.size(); ++i)
    if (biases[i]) add_bias(*biases[i], rows(x), last(outs[i]), outs[i].data<float>());
  return true;
}

bool gated_linear(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act, Tensor& out) {
  if (!gated_linear_fast(x, w_gate, w_up, act, out)) return false;
  count_fast(Kernel::gated_linear);
  return true;
}

// y = x·Wᵀ + b (W [N, K]; GPT-2's Conv1D: y = x·W, W [K, N]):
// dx += dy·W, dW += dyᵀ·x (Conv1D: xᵀ·dy), db += Σ_rows dy. Three GEMMs of the forward's size.
void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, bool w_in_out, Tensor* dx, Tensor* dw,
                     Tensor* dbias) {
  const int64_t M = rows(x), K = last(x), N = last(dy);
  const float* g = dy.data<float>();
  const float* xs = x.data<float>();
  const float* ws = w.data<float>();
  if (dx) {  // [M, N]·[N, K]; W stored [N, K], or [K, N] read transposed
    const Operand wt = w_in_out ? Operand{ws, 1, N} : Operand{ws, K, 1};
    gemm_f32({g, N, 1}, wt, dx->data<float>(), M, K, N, true);
  }
  if (dw) {
    if (w_in_out) gemm_f32({xs, 1, K}, {g, N, 1}, dw->data<float>(), K, N, M, true);  // xᵀ·dy
    else gemm_f32({g, 1, N}, {xs, K, 1}, dw->data<float>(), N, K, M, true);          // dyᵀ·x
  }
  if (dbias)
    column_sums(M, N, dbias->data<float>(), [&](int64_t m, float* acc) {
      for (int64_t n = 0; n < N; ++n) acc[n] += g[m * N + n];
    });
}

}  // namespace anatomy::cpu
