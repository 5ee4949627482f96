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

TEST(Tensor, FullHoldsItsValueEverywhere) {
  const Tensor t = Tensor::full({4, 3}, 2.5f);
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.numel(), 12u);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(t.data<float>()[i], 2.5f);
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

#include "core/mapped_file.h"
#include "test_util.h"

namespace anatomy {

TEST(MappedFile, ViewsReadTheFileWithoutCopying) {
  test::TempDir tmp;
  const float values[4] = {1.5f, -2.0f, 3.25f, 0.0f};
  test::write_file(tmp / "f.bin", std::string("HEAD") + std::string(reinterpret_cast<const char*>(values), 16));
  auto file = MappedFile::open(tmp / "f.bin");
  auto storage = std::make_shared<MappedStorage>(file, 4, 16);
  const Tensor t = Tensor::view(storage, 0, DType::F32, {2, 2});
  EXPECT_EQ(t.storage()->kind(), Storage::Kind::mapped);
  EXPECT_EQ(t.data<float>()[2], 3.25f);
  EXPECT_EQ(reinterpret_cast<const std::byte*>(t.data<float>()), file->data() + 4) << "no copy";
}

TEST(FileReader, ReadsAreBoundsChecked) {
  test::TempDir tmp;
  test::write_file(tmp / "f.bin", "0123456789");
  FileReader r(tmp / "f.bin");
  char buf[4];
  r.read_at(6, buf, 4, "tail");
  EXPECT_EQ(std::string(buf, 4), "6789");
  EXPECT_THROW(r.read_at(7, buf, 4, "past the end"), Error);
  EXPECT_THROW(r.read_at(UINT64_MAX, buf, 1, "huge offset"), Error);
  EXPECT_THROW(FileReader(tmp / "missing"), Error);
  EXPECT_THROW(FileReader(tmp.path()), Error) << "a folder is not a regular file";
}

}  // namespace anatomy
