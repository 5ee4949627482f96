// Losses over logits (training and perplexity).
#pragma once

#include "ops/context.h"

namespace anatomy::ops {

// Per-token softmax cross-entropy: logits [B, T, V] (F32), targets [B, T] (I32/I64) -> [B, T] of
// −log softmax(logits)[target], 0 where target == ignore_index. Targets other than the ignore
// index must lie in [0, V) (checked when the ids are on the host). 5 FLOPs per logit
// (max, subtract, exp, sum, log; elementwise class).
Tensor cross_entropy(const Context& c, const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);

}  // namespace anatomy::ops
