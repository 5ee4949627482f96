// Llama 3 RoPE frequency scaling against the golden values of ARCHITECTURES.md §3.3 (float64).
#include <gtest/gtest.h>

#include "nn/rope.h"

namespace anatomy::nn {

void expect_rel(double got, double want) { EXPECT_NEAR(got, want, std::abs(want) * 2e-9) << want; }

TEST(Rope, Llama32Golden) {
  const auto f = rope_inv_freq({.dim = 128, .theta = 500000, .scaling = "llama3", .factor = 32,
                                .low_freq_factor = 1, .high_freq_factor = 4,
                                .original_max_position_embeddings = 8192});
  ASSERT_EQ(f.size(), 64u);
  expect_rel(f[0], 1.0);
  expect_rel(f[1], 0.8146172339);
  expect_rel(f[10], 0.1286873734);
  expect_rel(f[20], 0.01656044008);
  expect_rel(f[30], 1.290547928e-3);
  expect_rel(f[40], 8.570255490e-6);
  expect_rel(f[63], 7.672314972e-8);
}

TEST(Rope, NemotronNano4bGolden) {
  const auto f = rope_inv_freq({.dim = 128, .theta = 3565775107.2609234, .scaling = "llama3", .factor = 4,
                                .low_freq_factor = 1, .high_freq_factor = 4,
                                .original_max_position_embeddings = 8192});
  expect_rel(f[1], 0.7091654918);
  expect_rel(f[20], 3.491836223e-4);
  expect_rel(f[63], 9.886406543e-11);
}

TEST(Rope, UnscaledAndLinear) {
  const auto f = rope_inv_freq({.dim = 4, .theta = 10000});
  expect_rel(f[1], 0.01);
  expect_rel(rope_inv_freq({.dim = 4, .theta = 10000, .scaling = "linear", .factor = 2})[1], 0.005);
}

}  // namespace anatomy::nn
