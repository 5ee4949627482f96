// Attention and rotary position embedding.
#pragma once

#include <cmath>
#include <vector>

#include "ops/context.h"

namespace anatomy::ops {

// Rotary embedding, rotate-half pairing (§3.3), on x [B, T, H, hd] for positions
// past … past+T−1; inv_freq has hd/2 entries. Elementwise class, 3 FLOPs per element.
Tensor rope(const Context& c, const Tensor& x, const std::vector<float>& inv_freq, int64_t past);

struct AttentionOptions {
  float scale = 1.0f;
  bool causal = true;
  int64_t past = 0;           // queries sit at positions past … past+T−1 of the keys
  int64_t keys = 0;           // keys used: the first `keys` steps of k/v (a KV cache read in place); 0 = all
  int64_t window = 0;         // sliding window: key j is visible to the query at position p iff j > p − window
  float masked_value = -INFINITY;  // hyunwoongko's transformer fills masked scores with -10000
  const Tensor* key_padding = nullptr;    // optional [B, keys] (nonzero = keep)
  const Tensor* query_padding = nullptr;  // optional [B, T]: a zero masks the query's whole row
};
// q [B, T, Hq, hd], k and v [B, Tk, Hkv, hd] (Hq a multiple of Hkv) -> [B, T, Hq·hd].
// Costs over the keys used: QKᵀ and P·V 2·B·Hq·T·keys·hd each (attention class, full rectangle,
// §2, also under a sliding window); softmax 5·B·Hq·T·keys (elementwise); bytes read are the keys
// and values used.
Tensor attention(const Context& c, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o);

}  // namespace anatomy::ops
