// Softmax cross-entropy per token: −log softmax(logits)[target], computed stably (max subtracted,
// double sums). Positions whose target is the ignore index get 0. The references and dispatch; the
// fast paths in loss_avx2.cpp (at GPT-2's vocabulary of 50257 the reference backward took 125 ms of
// a GPT-2 small training step, the fast one 54–67 ms: bench/RESULTS.md).
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out) {
  dispatch(Kernel::cross_entropy, [&] { return cross_entropy_fast(logits, targets, ignore_index, out); },
           [&] { cross_entropy_reference(logits, targets, ignore_index, out); });
}

void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& dloss,
                            Tensor& dlogits) {
  dispatch(Kernel::cross_entropy_backward,
           [&] { return cross_entropy_backward_fast(logits, targets, ignore_index, dloss, dlogits); },
           [&] { cross_entropy_backward_reference(logits, targets, ignore_index, dloss, dlogits); });
}

void cross_entropy_reference(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out) {
  const int64_t V = last(logits), R = rows(logits);
#pragma omp parallel for schedule(static) if (R > 16)
  for (int64_t r = 0; r < R; ++r) {
    const int64_t target = id_at(targets, r);
    if (target == ignore_index) {
      out.data<float>()[r] = 0.0f;
      continue;
    }
    const float* z = logits.data<float>() + r * V;
    const float mx = *std::max_element(z, z + V);
    double sum = 0;
    for (int64_t j = 0; j < V; ++j) sum += std::exp(static_cast<double>(z[j] - mx));
    out.data<float>()[r] = static_cast<float>(std::log(sum) - static_cast<double>(z[target] - mx));
  }
}

// d(−log softmax(z)[t]) / dz = softmax(z) − onehot(t), scaled by the token's loss gradient.
void cross_entropy_backward_reference(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                      const Tensor& dloss, Tensor& dlogits) {
  const int64_t V = last(logits), R = rows(logits);
#pragma omp parallel for schedule(static) if (R > 16)
  for (int64_t r = 0; r < R; ++r) {
    const int64_t target = id_at(targets, r);
    const float g = dloss.data<float>()[r];
    if (target == ignore_index || g == 0.0f) continue;
    const float* z = logits.data<float>() + r * V;
    float* d = dlogits.data<float>() + r * V;
    const float mx = *std::max_element(z, z + V);
    double sum = 0;
    for (int64_t j = 0; j < V; ++j) sum += std::exp(static_cast<double>(z[j] - mx));
    for (int64_t j = 0; j < V; ++j) d[j] += static_cast<float>(g * std::exp(static_cast<double>(z[j] - mx)) / sum);
    d[target] -= g;
  }
}

}  // namespace anatomy::cpu
