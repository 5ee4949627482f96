// Element-wise ops, slices and concatenation over the last dimension. FLOP conventions: one per
// element (activations stated as 1 whatever their cost; §2), data movement 0.
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

Tensor activation(const Context& c, const Tensor& x, Activation act);
// b may broadcast over leading dims (its last dim equals a's).
Tensor binary(const Context& c, const Tensor& a, const Tensor& b, BinaryOp op);
inline Tensor add(const Context& c, const Tensor& a, const Tensor& b) { return binary(c, a, b, BinaryOp::add); }
inline Tensor mul(const Context& c, const Tensor& a, const Tensor& b) { return binary(c, a, b, BinaryOp::mul); }
// -exp(x) per element for small per-head parameters (F32 result): Mamba2's A = -exp(A_log).
Tensor neg_exp(const Context& c, const Tensor& x);
// min(max(x, lo), hi) per element (F32): Mamba2's Δ clamp to time_step_limit. 1 FLOP per element.
Tensor clamp(const Context& c, const Tensor& x, float lo, float hi);
// Last-dimension slicing and concatenation (data movement only: 0 FLOPs).
Tensor slice_last(const Context& c, const Tensor& x, int64_t start, int64_t length);
Tensor concat_last(const Context& c, const Tensor& a, const Tensor& b);
// nn.Dropout: in training mode (the context has a dropout seed) zeroes each element with
// probability p and scales the rest by 1/(1−p); otherwise returns x itself. 1 FLOP per element.
Tensor dropout(const Context& c, const Tensor& x, double p);

}  // namespace anatomy::ops
