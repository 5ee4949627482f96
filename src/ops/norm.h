// Normalisations over the last dimension.
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

Tensor rms_norm(const Context& c, const Tensor& x, const Tensor& weight, double eps);  // 4 FLOPs/element
Tensor layer_norm(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias,
                  double eps);                                                       // 8 FLOPs/element
// Mamba2 gated norm: v = y·silu(z), RMS-normalised per group of last-dim channels, × weight.
// 6 FLOPs/element (silu gate 1, multiply 1, RMS norm 4).
Tensor gated_rms_norm(const Context& c, const Tensor& y, const Tensor& z, const Tensor& weight,
                      int64_t groups, double eps);

}  // namespace anatomy::ops
