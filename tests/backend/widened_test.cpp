// Half-precision weights in prefill GEMMs run through an f32 copy made once per weight: the result
// equals the reference kernel's, the copy is made once and reused, and a weight freed and replaced
// by another at the same address is never served the old copy.
#include <gtest/gtest.h>

#include "backend/cpu/gemm.h"
#include "backend/cpu/kernels.h"
#include "test_util.h"

namespace anatomy::cpu {
namespace {

float max_diff(const Tensor& a, const Tensor& b) {
  float m = 0;
  for (uint64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

void expect_matches_reference(const Tensor& x, const Tensor& w) {
  Tensor fast = Tensor::empty(DType::F32, {x.dim(0), w.dim(0)}), ref = Tensor::empty(DType::F32, {x.dim(0), w.dim(0)});
  ASSERT_TRUE(linear_fast(x, w, nullptr, false, fast));
  linear_reference(x, w, nullptr, false, ref);
  EXPECT_LT(max_diff(fast, ref), 1e-3f);
}

TEST(Widened, HalfWeightsInPrefillUseOneF32CopyPerWeight) {
  if (!__builtin_cpu_supports("avx2")) GTEST_SKIP() << "no AVX2: the half-precision fast path is not taken";
  const Tensor x = test::random_tensor(DType::F32, {kSmallM + 16, 48}, 1);
  const uint64_t before = widened_weight_bytes();
  {
    const Tensor w = test::random_tensor(DType::BF16, {40, 48}, 2);
    expect_matches_reference(x, w);
    const uint64_t after_first = widened_weight_bytes();
    EXPECT_EQ(after_first - before, 40u * 48u * sizeof(float));
    expect_matches_reference(x, w);  // served from the copy
    EXPECT_EQ(widened_weight_bytes(), after_first);
  }
  // The first weight is gone; new ones (perhaps at its address) get copies of their own values.
  for (uint32_t seed = 3; seed < 8; ++seed) {
    const Tensor w = test::random_tensor(seed % 2 ? DType::BF16 : DType::F16, {40, 48}, seed);
    expect_matches_reference(x, w);
  }
}

}  // namespace
}  // namespace anatomy::cpu
