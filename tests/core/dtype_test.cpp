#include <gtest/gtest.h>

#include "core/dtype.h"
#include "core/half.h"

namespace anatomy {

TEST(DType, PlainSizes) {
  EXPECT_EQ(*dtype_bytes(DType::F32, 10), 40u);
  EXPECT_EQ(*dtype_bytes(DType::BF16, 10), 20u);
  EXPECT_EQ(*dtype_bytes(DType::F64, 3), 24u);
  EXPECT_EQ(*dtype_bytes(DType::BOOL, 7), 7u);
  EXPECT_EQ(*dtype_bytes(DType::I64, 0), 0u);
}

TEST(DType, GgufBlockSizes) {
  // Bytes per block of 32 or 256 elements, as ggml defines them.
  EXPECT_EQ(*dtype_bytes(DType::Q4_0, 32), 18u);
  EXPECT_EQ(*dtype_bytes(DType::Q8_0, 64), 68u);
  EXPECT_EQ(*dtype_bytes(DType::Q4_K, 256), 144u);
  EXPECT_EQ(*dtype_bytes(DType::Q6_K, 512), 420u);
  EXPECT_EQ(*dtype_bytes(DType::IQ4_XS, 256), 136u);
  EXPECT_EQ(*dtype_bytes(DType::MXFP4, 32), 17u);
  EXPECT_FALSE(dtype_bytes(DType::Q4_K, 100).has_value()) << "not a whole number of blocks";
}

TEST(DType, OverflowIsDetected) {
  EXPECT_FALSE(dtype_bytes(DType::F64, UINT64_MAX / 4).has_value());
  EXPECT_TRUE(dtype_bytes(DType::U8, UINT64_MAX).has_value());
}

TEST(DType, Names) {
  EXPECT_EQ(dtype_from_safetensors("BF16"), DType::BF16);
  EXPECT_FALSE(dtype_from_safetensors("Q4_K").has_value()) << "safetensors has no block types";
  EXPECT_FALSE(dtype_from_safetensors("F8").has_value());
  EXPECT_EQ(dtype_from_string("bfloat16"), DType::BF16);
  EXPECT_EQ(dtype_from_string("fp16"), DType::F16);
  EXPECT_EQ(dtype_from_ggml(30), DType::BF16);
  EXPECT_EQ(dtype_from_ggml(12), DType::Q4_K);
  EXPECT_FALSE(dtype_from_ggml(4).has_value()) << "removed Q4_2";
  EXPECT_FALSE(dtype_from_ggml(1000).has_value());
}

TEST(Half, RoundTrips) {
  for (float v : {0.0f, 1.0f, -2.5f, 0.1f, 65504.0f, 1e-5f}) {
    EXPECT_NEAR(bf16_to_f32(f32_to_bf16(v)), v, std::abs(v) / 128 + 1e-30);
    EXPECT_NEAR(f16_to_f32(f32_to_f16(v)), v, std::abs(v) / 1024 + 1e-7);
  }
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00) << "overflow to infinity";
}

}  // namespace anatomy
