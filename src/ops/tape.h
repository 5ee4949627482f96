// The training tape: reverse-mode gradients over the same forward. Each op run under a context
// that carries a tape records one backward step beside its forward (in the op's own file);
// `backward` runs the steps in reverse. Gradients are keyed by storage, so a reshape shares its
// source's gradient and a tied weight (one Parameter in two slots) accumulates both uses.
//
// Memory behaves as in PyTorch: a step keeps the forward tensors it needs alive until it has run;
// an output's gradient is dropped once its step has run, unless it is bound (a parameter's gradient,
// which outlives the pass and accumulates across micro-batches). On the meta backend the same
// pass allocates counted meta tensors, which measures a training step's activation peak.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor.h"

namespace anatomy::ops {

class Tape {
 public:
  using Step = std::function<void(Tape&)>;
  explicit Tape(std::shared_ptr<const backend::Backend> backend) : backend_(std::move(backend)) {}
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  const backend::Backend& backend() const { return *backend_; }
  // Appends the backward step of op `op` whose forward produced `outputs`; it runs only when one
  // of them received a gradient.
  void record(const char* op, std::vector<Tensor> outputs, Step step);
  // The gradient of t (F32, t's shape), zero-filled on first use.
  Tensor grad(const Tensor& t);
  // Gradients of t accumulate into `buffer` (same shape, F32) and are kept after the pass.
  void bind(const Tensor& t, Tensor buffer);
  // Seeds d(out) = seed and runs the recorded steps in reverse; the tape is empty afterwards
  // (bindings stay).
  void backward(const Tensor& out, const Tensor& seed);
  size_t steps() const { return steps_.size(); }
  // Wall time of the backward steps run so far, by op (a training profile).
  const std::map<std::string, double>& seconds_by_op() const { return seconds_; }

 private:
  struct Entry {
    std::shared_ptr<Storage> storage;  // keeps the key's address from being reused
    Tensor grad;                       // over the whole storage, F32
    bool bound = false;
  };
  struct Recorded {
    const char* op;
    std::vector<Tensor> outputs;
    Step step;
  };
  Entry* entry(const Tensor& t);
  Tensor view(const Entry& e, const Tensor& t) const;

  std::shared_ptr<const backend::Backend> backend_;
  std::map<const Storage*, Entry> grads_;
  std::vector<Recorded> steps_;
  std::map<std::string, double> seconds_;
};

}  // namespace anatomy::ops
