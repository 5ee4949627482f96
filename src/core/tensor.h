// Tensor = dtype + shape + strides + a storage that is heap memory, a mapped file range, or
// nothing at all (a "meta" tensor: shape and dtype only, used for cost analysis without data).
// Strides are in elements; block-quantized tensors are always contiguous.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/kinds.h"

namespace anatomy {

using Shape = std::vector<int64_t>;

// Element count, or nullopt on a negative dimension or uint64 overflow.
std::optional<uint64_t> shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[3072, 128256]"

class MappedFile;

class Storage {
 public:
  enum class Kind { heap, mapped, meta };
  virtual ~Storage() = default;
  virtual Kind kind() const = 0;
  // A promise that the bytes no longer change while the storage lives (weights loaded for
  // inference): backends may then keep derived copies of them, such as packed GEMM panels.
  // Nothing is frozen unless its owner says so; it cannot be undone.
  void freeze() { frozen_.store(true, std::memory_order_release); }
  bool frozen() const { return frozen_.load(std::memory_order_acquire); }
  // Where the bytes live; a CUDA storage answers cuda and its data() is a device pointer.
  virtual Device device() const { return kind() == Kind::meta ? Device::meta : Device::cpu; }
  virtual std::byte* data() = 0;
  virtual size_t size() const = 0;

 private:
  std::atomic<bool> frozen_{false};
};

// 64-byte aligned heap buffer (AVX-512 friendly, cache-line aligned).
class HeapStorage final : public Storage {
 public:
  explicit HeapStorage(size_t bytes);
  ~HeapStorage() override;
  HeapStorage(const HeapStorage&) = delete;
  HeapStorage& operator=(const HeapStorage&) = delete;
  Kind kind() const override { return Kind::heap; }
  std::byte* data() override { return data_; }
  size_t size() const override { return size_; }

 private:
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

// A byte range of a memory-mapped file; keeps the mapping alive.
class MappedStorage final : public Storage {
 public:
  MappedStorage(std::shared_ptr<MappedFile> file, size_t offset, size_t size);
  Kind kind() const override { return Kind::mapped; }
  std::byte* data() override;
  size_t size() const override { return size_; }

 private:
  std::shared_ptr<MappedFile> file_;
  size_t offset_;
  size_t size_;
};

// Live and peak bytes of the meta tensors created through one counter: a meta run of a forward
// measures its activation peak without allocating anything.
struct MemoryCounter {
  uint64_t live = 0, peak = 0;
};

// Storage of a meta tensor that is counted but holds no data.
class MetaStorage final : public Storage {
 public:
  MetaStorage(size_t bytes, std::shared_ptr<MemoryCounter> counter);
  ~MetaStorage() override;
  Kind kind() const override { return Kind::meta; }
  std::byte* data() override { return nullptr; }
  size_t size() const override { return size_; }

 private:
  size_t size_;
  std::shared_ptr<MemoryCounter> counter_;
};

class Tensor {
 public:
  Tensor() = default;
  static Tensor meta(DType dtype, Shape shape);
  static Tensor meta_counted(DType dtype, Shape shape, std::shared_ptr<MemoryCounter> counter);
  static Tensor empty(DType dtype, Shape shape);  // uninitialised heap tensor
  static Tensor zeros(DType dtype, Shape shape);
  static Tensor full(Shape shape, float value);  // F32
  // A view of `storage` starting at `offset` bytes; checks that it fits.
  static Tensor view(std::shared_ptr<Storage> storage, size_t offset, DType dtype, Shape shape);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const std::vector<int64_t>& strides() const { return strides_; }
  int64_t dim(int i) const { return shape_.at(i < 0 ? shape_.size() + i : i); }
  uint64_t numel() const;
  uint64_t nbytes() const;
  bool is_meta() const { return storage_ == nullptr || storage_->kind() == Storage::Kind::meta; }
  Device device() const { return storage_ ? storage_->device() : Device::meta; }
  // The same data viewed with another shape of equal element count (contiguous only).
  Tensor reshape(Shape shape) const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  size_t offset() const { return offset_; }  // bytes into the storage

  std::byte* raw() const;
  template <class T>
  T* data() const { return reinterpret_cast<T*>(raw()); }

 private:
  Tensor(DType dtype, Shape shape);
  DType dtype_ = DType::F32;
  Shape shape_;
  std::vector<int64_t> strides_;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
};

// Element i of a plain floating-point tensor (F32, F64, BF16, F16) as float; 0 for other dtypes.
float element_f32(const Tensor& t, uint64_t i);
// Element i of an I64 or I32 tensor of token ids or targets (host memory).
inline int64_t id_at(const Tensor& ids, uint64_t i) {
  return ids.dtype() == DType::I64 ? ids.data<int64_t>()[i] : ids.data<int32_t>()[i];
}

}  // namespace anatomy
