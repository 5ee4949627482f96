// The execution context every op receives: the backend that executes (meta, cpu; cuda later) and
// the observers that see every op's cost and every module scope (cost tables, the profiler; a
// tape when training). Ops check shapes and report costs here, then call the backend
// unconditionally: the meta backend runs nothing.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
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

// Sees every module scope (with its input and output tensors: meta in meta runs) and every op's
// cost, in execution order; scopes nest.
class Observer {
 public:
  virtual ~Observer() = default;
  virtual void begin_scope(const std::string& name, const std::string& type, const Tensor& input) = 0;
  virtual void end_scope(const Tensor& output) = 0;
  virtual void op(const char* name, const Cost& cost) = 0;
};

class Tape;

class Context {
 public:
  explicit Context(std::shared_ptr<const backend::Backend> backend, std::vector<Observer*> observers = {})
      : backend_(std::move(backend)), observers_(std::move(observers)) {}
  const backend::Backend& backend() const { return *backend_; }
  bool meta() const { return backend_->device() == Device::meta; }
  const std::vector<Observer*>& observers() const { return observers_; }

  // A new activation tensor on the backend's device (meta and counted on the meta backend).
  Tensor output(Shape shape, DType dtype = DType::F32) const { return backend_->allocate(dtype, std::move(shape)); }
  void report(const char* op, const Cost& cost) const {
    for (Observer* o : observers_) o->op(op, cost);
  }

  // Training: ops record their backward steps on the tape (nullptr: inference).
  Tape* tape() const { return tape_; }
  void set_tape(Tape* tape) { tape_ = tape; }
  // Dropout runs only in training mode, i.e. with a seed; each dropout call draws its mask from
  // (seed, call number), so a pass is reproducible and its backward redraws the same masks.
  void set_dropout_seed(std::optional<uint64_t> seed) {
    dropout_seed_ = seed;
    dropout_calls_ = 0;
  }
  bool training() const { return dropout_seed_.has_value(); }
  std::optional<uint64_t> next_dropout_seed() const {
    if (!dropout_seed_) return std::nullopt;
    return *dropout_seed_ * 0x9E3779B97F4A7C15ull + ++dropout_calls_;
  }

 private:
  std::shared_ptr<const backend::Backend> backend_;
  std::vector<Observer*> observers_;
  Tape* tape_ = nullptr;
  std::optional<uint64_t> dropout_seed_;
  mutable uint64_t dropout_calls_ = 0;
};

}  // namespace anatomy::ops
