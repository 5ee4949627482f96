// Linear layers: nn.Linear, GPT-2's Conv1D and the LM head.
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

// y = x·Wᵀ (+ b). W is nn.Linear's [N, K], or [K, N] when `w_in_out` (GPT-2 Conv1D).
// 2·M·N·K FLOPs in class `cls` (linear, or head for the LM head); the bias add is elementwise.
Tensor linear(const Context& c, const Tensor& x, const Tensor& w, const Tensor* bias,
              OpClass cls = OpClass::linear, bool w_in_out = false);

}  // namespace anatomy::ops
