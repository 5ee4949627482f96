// Rotary position embedding frequencies (HF "rotate-half" layout, ARCHITECTURES.md §3.3),
// including Llama 3's frequency scaling. Computed once at build time, in double precision.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace anatomy::nn {

struct RopeSpec {
  int64_t dim = 0;            // rotary width (head_dim); 0 = no rotary embedding
  double theta = 10000.0;
  std::string scaling = "none";  // "none" | "llama3" | "linear"
  double factor = 1.0;
  double low_freq_factor = 1.0, high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

// inv_freq[i] for i = 0 … dim/2 − 1, with the configured scaling applied.
std::vector<double> rope_inv_freq(const RopeSpec& spec);

}  // namespace anatomy::nn
