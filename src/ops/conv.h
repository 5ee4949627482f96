// Depthwise causal convolution over time (Mamba2's conv1d).
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

// x [B, T, C] with weight [C, 1, K]; `state` [B, C, K−1] holds the previous inputs (zeros at the
// start) and is updated. 2·B·T·C·K FLOPs (conv), bias elementwise.
Tensor causal_conv1d(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& state);

}  // namespace anatomy::ops
