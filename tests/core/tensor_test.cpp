#include <gtest/gtest.h>

#include "core/error.h"
#include "core/tensor.h"

namespace anatomy {

TEST(Tensor, MetaHasShapeButNoData) {
  const Tensor t = Tensor::meta(DType::BF16, {128256, 3072});
  EXPECT_TRUE(t.is_meta());
  EXPECT_EQ(t.numel(), 128256u * 3072u);
  EXPECT_EQ(t.nbytes(), 2u * 128256u * 3072u);
  EXPECT_EQ(t.strides(), (std::vector<int64_t>{3072, 1}));
}

TEST(Tensor, HeapTensorIsAlignedAndZeroed) {
  const Tensor t = Tensor::zeros(DType::F32, {3, 5});
  EXPECT_FALSE(t.is_meta());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, 0u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
}

TEST(Tensor, EmptyDimensionsAreValid) {
  EXPECT_EQ(Tensor::meta(DType::F32, {2, 0}).nbytes(), 0u);
  EXPECT_EQ(Tensor::meta(DType::F32, {}).numel(), 1u) << "a scalar";
}

TEST(Tensor, InvalidShapesThrow) {
  EXPECT_THROW(Tensor::meta(DType::F32, {-1}), Error);
  EXPECT_THROW(Tensor::meta(DType::Q4_0, {33}), Error) << "not a whole block";
  EXPECT_THROW(Tensor::meta(DType::F32, {int64_t{1} << 62, 8}), Error) << "byte size overflows";
}

TEST(Tensor, ViewMustFitItsStorage) {
  auto storage = std::make_shared<HeapStorage>(64);
  EXPECT_NO_THROW(Tensor::view(storage, 32, DType::F32, {8}));
  EXPECT_THROW(Tensor::view(storage, 36, DType::F32, {8}), Error);
}

}  // namespace anatomy
