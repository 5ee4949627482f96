// The execution context every op receives: whether to run kernels or only account (meta), who
// observes costs and module scopes (cost tables, the profiler), and the thread count.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"

namespace anatomy::ops {

// Op classes of ARCHITECTURES.md §2; every FLOP anatomy reports belongs to exactly one.
enum class OpClass { linear, attention, ssm, conv, norm, elementwise, embedding, head };
const char* op_class_name(OpClass c);
constexpr int kOpClasses = 8;

struct Cost {
  OpClass cls = OpClass::elementwise;
  double flops = 0;
  uint64_t bytes_read = 0, bytes_written = 0;
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void begin_scope(const std::string& name, const std::string& type, const Shape& input) = 0;
  virtual void end_scope(const Shape& output) = 0;
  virtual void op(const char* name, const Cost& cost) = 0;
};

class Context {
 public:
  // meta = true: ops check shapes and report costs but run no kernel; outputs are meta tensors
  // counted in `activations` so that the activation peak is measured.
  explicit Context(bool meta, Observer* observer = nullptr)
      : meta_(meta), observer_(observer), activations_(std::make_shared<MemoryCounter>()) {}
  bool meta() const { return meta_; }
  Observer* observer() const { return observer_; }
  const MemoryCounter& activations() const { return *activations_; }

  // A new activation tensor (F32): allocated, or meta and counted.
  Tensor output(Shape shape, DType dtype = DType::F32) const;
  void report(const char* op, const Cost& cost) const {
    if (observer_) observer_->op(op, cost);
  }

 private:
  bool meta_;
  Observer* observer_;
  std::shared_ptr<MemoryCounter> activations_;
};

}  // namespace anatomy::ops
