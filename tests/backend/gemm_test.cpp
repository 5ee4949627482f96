// The fast linear path (AVX2 small-M kernel, oneDNN, half-precision blocks) against the scalar
// reference on random shapes with tails, for every weight dtype.
#include <gtest/gtest.h>

#include <random>

#include "backend/cpu/gemm.h"
#include "backend/cpu/kernels.h"
#include "core/half.h"

namespace anatomy::cpu {
namespace {

Tensor random(DType dtype, Shape shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor t = Tensor::empty(dtype, std::move(shape));
  for (uint64_t i = 0; i < t.numel(); ++i) {
    const float v = u(rng);
    if (dtype == DType::F32) t.data<float>()[i] = v;
    else t.data<uint16_t>()[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  return t;
}

TEST(Gemm, MatchesReference) {
  std::mt19937 rng(5);
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int64_t M : {1, 2, 3, 5, 8, 9, 17, 64})
      for (auto [N, K] : {std::pair<int64_t, int64_t>{7, 13}, {33, 64}, {300, 129}}) {
        const Tensor x = random(DType::F32, {1, M, K}, rng), w = random(dt, {N, K}, rng), b = random(DType::F32, {N}, rng);
        Tensor fast = Tensor::zeros(DType::F32, {1, M, N}), ref = Tensor::zeros(DType::F32, {1, M, N});
        ASSERT_TRUE(linear_fast(x, w, &b, false, fast));
        linear_reference(x, w, &b, false, ref);
        for (uint64_t i = 0; i < ref.numel(); ++i)
          ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], 1e-4 * std::sqrt(static_cast<double>(K)))
              << dtype_name(dt) << " M=" << M << " N=" << N << " K=" << K << " at " << i;
      }
}

TEST(Gemm, Conv1DLayout) {
  std::mt19937 rng(6);
  const Tensor x = random(DType::F32, {2, 5, 24}, rng), w = random(DType::F32, {24, 40}, rng);
  Tensor fast = Tensor::zeros(DType::F32, {2, 5, 40}), ref = Tensor::zeros(DType::F32, {2, 5, 40});
  ASSERT_TRUE(linear_fast(x, w, nullptr, true, fast));
  linear_reference(x, w, nullptr, true, ref);
  for (uint64_t i = 0; i < ref.numel(); ++i) ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], 1e-4);
}

}  // namespace
}  // namespace anatomy::cpu
