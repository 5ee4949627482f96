#include "core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include "core/error.h"
#include "core/half.h"
#include "core/mapped_file.h"

namespace anatomy {

std::optional<uint64_t> shape_numel(const Shape& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return std::nullopt;
    const auto ud = static_cast<uint64_t>(d);
    if (ud != 0 && n > UINT64_MAX / ud) return std::nullopt;
    n *= ud;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Buffers of 2 MiB and more start on a 2 MiB boundary and are offered to the kernel for
// transparent huge pages (where THP is "madvise", as on Debian, nothing else asks for them). A
// decode step streams every weight once: on 4 KiB pages the same read reached 51 GB/s where 2 MiB
// pages gave 58.6 (bench_gemv_forms, bench/RESULTS.md, issue 15, stop 30). Where THP is off the
// advice is ignored and the pages stay small.
HeapStorage::HeapStorage(size_t bytes) : size_(bytes) {
  constexpr size_t kHuge = size_t{1} << 21;
  const size_t align = bytes >= kHuge ? kHuge : 64, rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  void* p = nullptr;
  if (::posix_memalign(&p, align, rounded) != 0) throw std::bad_alloc();
  data_ = static_cast<std::byte*>(p);
  if (align == kHuge) ::madvise(p, rounded, MADV_HUGEPAGE);  // the last partial 2 MiB stays in 4 KiB pages
}

HeapStorage::~HeapStorage() { std::free(data_); }

MappedStorage::MappedStorage(std::shared_ptr<MappedFile> file, size_t offset, size_t size)
    : file_(std::move(file)), offset_(offset), size_(size) {
  ANATOMY_ASSERT(offset_ <= file_->size() && size_ <= file_->size() - offset_);
}

std::byte* MappedStorage::data() { return file_->data() + offset_; }

MetaStorage::MetaStorage(size_t bytes, std::shared_ptr<MemoryCounter> counter)
    : size_(bytes), counter_(std::move(counter)) {
  counter_->live += size_;
  counter_->peak = std::max(counter_->peak, counter_->live);
}

MetaStorage::~MetaStorage() { counter_->live -= size_; }

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  if (!shape_numel(shape_) || !dtype_bytes(dtype_, *shape_numel(shape_)))
    fail(ErrorKind::shape, "tensor of shape " + shape_str(shape_) + " and dtype " +
                               dtype_name(dtype_) + " has no valid size");
  strides_.assign(shape_.size(), 1);
  for (int i = static_cast<int>(shape_.size()) - 2; i >= 0; --i)
    strides_[i] = strides_[i + 1] * shape_[i + 1];
}

Tensor Tensor::meta(DType dtype, Shape shape) { return Tensor(dtype, std::move(shape)); }

Tensor Tensor::meta_counted(DType dtype, Shape shape, std::shared_ptr<MemoryCounter> counter) {
  Tensor t(dtype, std::move(shape));
  t.storage_ = std::make_shared<MetaStorage>(t.nbytes(), std::move(counter));
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  Tensor t(dtype_, std::move(shape));
  if (t.numel() != numel() || !is_contiguous())
    fail(ErrorKind::shape, "[reshape] cannot view " + shape_str(shape_) + " as " + shape_str(t.shape_));
  t.storage_ = storage_;
  t.offset_ = offset_;
  return t;
}

Tensor Tensor::empty(DType dtype, Shape shape) {
  Tensor t(dtype, std::move(shape));
  t.storage_ = std::make_shared<HeapStorage>(t.nbytes());
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t = empty(dtype, std::move(shape));
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::full(Shape shape, float value) {
  Tensor t = empty(DType::F32, std::move(shape));
  std::fill_n(t.data<float>(), t.numel(), value);
  return t;
}

Tensor Tensor::view(std::shared_ptr<Storage> storage, size_t offset, DType dtype, Shape shape) {
  Tensor t(dtype, std::move(shape));
  if (offset > storage->size() || t.nbytes() > storage->size() - offset)
    fail(ErrorKind::shape, "view of " + std::to_string(t.nbytes()) + " bytes at offset " +
                               std::to_string(offset) + " exceeds storage of " +
                               std::to_string(storage->size()) + " bytes");
  t.storage_ = std::move(storage);
  t.offset_ = offset;
  return t;
}

uint64_t Tensor::numel() const { return *shape_numel(shape_); }
uint64_t Tensor::nbytes() const { return *dtype_bytes(dtype_, numel()); }

bool Tensor::is_contiguous() const {
  int64_t expect = 1;
  for (int i = static_cast<int>(shape_.size()) - 1; i >= 0; --i) {
    if (shape_[i] != 1 && strides_[i] != expect) return false;
    expect *= shape_[i];
  }
  return true;
}

std::byte* Tensor::raw() const {
  ANATOMY_ASSERT(!is_meta());
  return storage_->data() + offset_;
}

float element_f32(const Tensor& t, uint64_t i) {
  switch (t.dtype()) {
    case DType::F32: return t.data<float>()[i];
    case DType::BF16: return bf16_to_f32(t.data<uint16_t>()[i]);
    case DType::F16: return f16_to_f32(t.data<uint16_t>()[i]);
    case DType::F64: return static_cast<float>(t.data<double>()[i]);
    default: return 0.0f;
  }
}

}  // namespace anatomy
