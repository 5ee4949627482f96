// Embedding lookups and position tables. Activations are F32 [B, T, C]; weights keep their
// stored dtype.
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

// [B, T] token ids (I32 or I64) -> [B, T, d]. 0 FLOPs; bytes of the rows read.
Tensor embedding(const Context& c, const Tensor& weight, const Tensor& ids);

// Sinusoidal position table [T, d]: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(…).
// A constant table (0 FLOPs counted), as in the original implementations.
Tensor sinusoid_table(const Context& c, int64_t tokens, int64_t dim);

// [B, T] I64 positions past … past+T−1 (learned position embeddings). 0 FLOPs.
Tensor positions(const Context& c, int64_t batch, int64_t tokens, int64_t past);

}  // namespace anatomy::ops
