#include "ops/tape.h"

#include <fmt/format.h>

#include <chrono>

#include "core/error.h"
#include "ops/check.h"

namespace anatomy::ops {

void Tape::record(const char* op, std::vector<Tensor> outputs, Step step) {
  steps_.push_back({op, std::move(outputs), std::move(step)});
}

Tape::Entry* Tape::entry(const Tensor& t) {
  auto it = grads_.find(t.storage().get());
  return it == grads_.end() ? nullptr : &it->second;
}

Tensor Tape::view(const Entry& e, const Tensor& t) const {
  return Tensor::view(e.grad.storage(), t.offset(), DType::F32, t.shape());
}

Tensor Tape::grad(const Tensor& t) {
  if (t.dtype() != DType::F32)
    fail(ErrorKind::unsupported, fmt::format("gradients need F32 tensors, not {} (train casts weights to F32)",
                                             dtype_name(t.dtype())));
  // A tensor without storage (a meta weight) gets a gradient of its own that nothing shares.
  if (!t.storage()) return backend_->allocate(DType::F32, t.shape());
  if (Entry* e = entry(t)) return view(*e, t);
  Tensor g = backend_->allocate(DType::F32, {static_cast<int64_t>(t.storage()->size() / sizeof(float))});
  backend_->fill_zero(g);
  Entry& e = grads_[t.storage().get()] = Entry{t.storage(), g, false};
  return view(e, t);
}

void Tape::bind(const Tensor& t, Tensor buffer) {
  ANATOMY_ASSERT(t.storage() && buffer.dtype() == DType::F32 && buffer.nbytes() == t.storage()->size());
  grads_[t.storage().get()] = Entry{t.storage(), std::move(buffer), true};
}

void Tape::backward(const Tensor& out, const Tensor& seed) {
  Tensor d = grad(out);
  backend_->accumulate(d, seed);
  const bool meta = backend_->device() == Device::meta;
  while (!steps_.empty()) {
    Recorded r = std::move(steps_.back());
    steps_.pop_back();
    bool reached = meta;  // a meta pass runs every step: it measures memory, not values
    for (const Tensor& o : r.outputs) reached = reached || (o.storage() && entry(o));
    if (!reached) continue;
    const auto t0 = std::chrono::steady_clock::now();
    r.step(*this);
    seconds_[r.op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const Tensor& o : r.outputs)  // nothing earlier writes an op's output: its gradient is done
      if (Entry* e = o.storage() ? entry(o) : nullptr; e && !e->bound) grads_.erase(o.storage().get());
  }
  for (auto it = grads_.begin(); it != grads_.end();) it = it->second.bound ? std::next(it) : grads_.erase(it);
}

namespace detail {

void check_zero_state(const char* op, const Tensor& state) {
  if (state.device() != Device::cpu) return;  // the backend refuses the backward pass itself
  const float* s = state.data<float>();
  for (uint64_t i = 0; i < state.numel(); ++i)
    if (s[i] != 0.0f) shape_error(op, "a recorded pass must start from an empty state (training runs whole sequences)");
}

}  // namespace detail
}  // namespace anatomy::ops
