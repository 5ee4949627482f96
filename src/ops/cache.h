// KV cache writes and time slices (data movement only: 0 FLOPs, bytes moved).
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

// Copies src [B, T, ...] into dst [B, Tmax, ...] at time offset `at` (KV cache append).
void write_time(const Context& c, Tensor& dst, const Tensor& src, int64_t at);
// Time steps [start, start+length) of a [B, Tmax, ...] tensor as a new [B, length, ...] tensor.
Tensor slice_time(const Context& c, const Tensor& src, int64_t start, int64_t length);

}  // namespace anatomy::ops
