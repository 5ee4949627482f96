// Embedding rows and the sinusoidal position table: scalar references and dispatch to the AVX2
// fast path (embedding_avx2.cpp).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void embedding(const Tensor& weight, const Tensor& ids, Tensor& out) {
  dispatch(Kernel::embedding, [&] { return embedding_fast(weight, ids, out); },
           [&] { embedding_reference(weight, ids, out); });
}

void embedding_reference(const Tensor& weight, const Tensor& ids, Tensor& out) {
  const int64_t d = weight.dim(1), V = weight.dim(0);
  float* o = out.data<float>();
  for (uint64_t i = 0; i < ids.numel(); ++i) {
    int64_t id = id_at(ids, i);
    id = std::clamp<int64_t>(id, 0, V - 1);  // ids are range-checked by the caller
    if (weight.dtype() == DType::F32) {
      std::memcpy(o + i * d, weight.data<float>() + id * d, static_cast<size_t>(d) * 4);
      continue;
    }
    for (int64_t j = 0; j < d; ++j) o[i * d + j] = load(weight, static_cast<uint64_t>(id * d + j));
  }
}

void sinusoid_table(Tensor& out) {
  const int64_t T = out.dim(0), d = out.dim(1);
  for (int64_t p = 0; p < T; ++p)
    for (int64_t i = 0; i < d; i += 2) {
      const double angle = static_cast<double>(p) / std::pow(10000.0, static_cast<double>(i) / static_cast<double>(d));
      out.data<float>()[p * d + i] = static_cast<float>(std::sin(angle));
      if (i + 1 < d) out.data<float>()[p * d + i + 1] = static_cast<float>(std::cos(angle));
    }
}

void positions(int64_t past, Tensor& out) {
  const int64_t B = out.dim(0), T = out.dim(1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) out.data<int64_t>()[b * T + t] = past + t;
}

// dW[id] += dy row, token by token (a token repeated in the batch adds up).
void embedding_backward(const Tensor& dy, const Tensor& ids, Tensor& dweight) {
  const int64_t C = last(dweight), n = static_cast<int64_t>(ids.numel());
  std::vector<int64_t> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[i] = id_at(ids, i);
  const float* g = dy.data<float>();
  float* dw = dweight.data<float>();
#pragma omp parallel for schedule(static) if (n * C > kParallelElements)
  for (int64_t c0 = 0; c0 < C; c0 += 64)  // columns split between threads: no two write one element
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = c0; c < std::min(C, c0 + 64); ++c) dw[rows[i] * C + c] += g[i * C + c];
}

}  // namespace anatomy::cpu
