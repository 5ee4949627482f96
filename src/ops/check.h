// Shape checks and cost helpers shared by the op files (internal to ops/).
#pragma once

#include <fmt/format.h>

#include <optional>

#include "core/error.h"
#include "ops/context.h"
#include "ops/tape.h"

namespace anatomy::ops::detail {

[[noreturn]] inline void shape_error(const char* op, const std::string& msg) {
  fail(ErrorKind::shape, fmt::format("[{}] {}", op, msg));
}

inline void require_rank(const char* op, const Tensor& t, size_t rank, const char* what) {
  if (t.shape().size() != rank)
    shape_error(op, fmt::format("{} must have rank {}, got {}", what, rank, shape_str(t.shape())));
}

inline uint64_t f32_bytes(uint64_t n) { return 4 * n; }

// Leading dimensions multiplied: the "M" of a [..., K] activation.
inline int64_t rows(const Tensor& x) {
  return x.shape().empty() || x.dim(-1) == 0 ? 0 : static_cast<int64_t>(x.numel() / static_cast<uint64_t>(x.dim(-1)));
}

// An optional tensor argument held by value, so a backward step can keep it alive.
inline std::optional<Tensor> keep(const Tensor* t) { return t ? std::optional<Tensor>(*t) : std::nullopt; }
// The gradient of an optional argument (null when absent).
inline std::optional<Tensor> grad_of(Tape& g, const std::optional<Tensor>& t) {
  return t ? std::optional<Tensor>(g.grad(*t)) : std::nullopt;
}
inline Tensor* ptr(std::optional<Tensor>& t) { return t ? &*t : nullptr; }

// A recurrent state a backward pass assumes empty (zero) at the start of the sequence.
void check_zero_state(const char* op, const Tensor& state);

inline Shape with_last(Shape s, int64_t last) {
  s.back() = last;
  return s;
}

// n elements written, `read` elements read, `per_element` FLOPs each, all F32.
inline Cost elementwise(double per_element, uint64_t n, uint64_t read) {
  return {OpClass::elementwise, per_element * static_cast<double>(n), f32_bytes(read), f32_bytes(n)};
}

}  // namespace anatomy::ops::detail
