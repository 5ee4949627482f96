// Linear layers: nn.Linear, GPT-2's Conv1D and the LM head; projections of one input fused.
#pragma once

#include <optional>
#include <vector>

#include "ops/context.h"

namespace anatomy::ops {

// y = x·Wᵀ (+ b). W is nn.Linear's [N, K], or [K, N] when `w_in_out` (GPT-2 Conv1D).
// 2·M·N·K FLOPs in class `cls` (linear, or head for the LM head); the bias add is elementwise.
Tensor linear(const Context& c, const Tensor& x, const Tensor& w, const Tensor* bias,
              OpClass cls = OpClass::linear, bool w_in_out = false);

// Whether the backend runs these projections of x (nn.Linear weights) as one GEMM — never while
// recording a tape: the fused forms have no backward step. Models ask before choosing the fused
// scope.
bool fuses_linears(const Context& c, const Tensor& x, const std::vector<Tensor>& ws,
                   std::optional<Activation> gated = std::nullopt);
// outs[i] = x·ws[i]ᵀ (+ biases[i]) as one GEMM (q/k/v): each output and each reported cost as
// ops::linear's.
std::vector<Tensor> linear_group(const Context& c, const Tensor& x, const std::vector<Tensor>& ws,
                                 const std::vector<const Tensor*>& biases);
// act(x·w_gateᵀ) ⊙ (x·w_upᵀ) as one GEMM with the activation and product in its epilogue: the FLOPs
// of the two linears, the activation and the product; the bytes it moves (neither product is
// written).
Tensor gated_linear(const Context& c, const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act);

}  // namespace anatomy::ops
