// Softmax cross-entropy per token: −log softmax(logits)[target], computed stably (max subtracted,
// double sums). Positions whose target is the ignore index get 0. The reference is the kernel: a
// loss over [B, T, V] costs a fraction of the LM head that produced it.
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {

void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out) {
  const int64_t V = last(logits), R = rows(logits);
#pragma omp parallel for schedule(static) if (R > 16)
  for (int64_t r = 0; r < R; ++r) {
    const int64_t target = targets.dtype() == DType::I64 ? targets.data<int64_t>()[r] : targets.data<int32_t>()[r];
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
void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& dloss,
                            Tensor& dlogits) {
  const int64_t V = last(logits), R = rows(logits);
#pragma omp parallel for schedule(static) if (R > 16)
  for (int64_t r = 0; r < R; ++r) {
    const int64_t target = targets.dtype() == DType::I64 ? targets.data<int64_t>()[r] : targets.data<int32_t>()[r];
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
