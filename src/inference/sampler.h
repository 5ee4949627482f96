// Next-token choice from logits, in Hugging Face transformers' order: repetition penalty (CTRL's:
// divide a positive logit of a token already seen, multiply a negative one), then temperature,
// top-k, top-p (nucleus), min-p; temperature 0 is greedy (argmax after the penalty). Seeded: the
// same seed, logits and history give the same token.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace anatomy::inference {

struct SamplingOptions {
  double temperature = 0.8;        // 0: greedy
  int64_t top_k = 0;               // 0: off
  double top_p = 1.0;              // in (0, 1]; 1: off
  double min_p = 0.0;              // in [0, 1); 0: off
  double repetition_penalty = 1.0; // 1: off
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingOptions options) : o_(options), rng_(options.seed) {}
  // `history`: the ids the repetition penalty applies to (prompt and generated so far).
  int64_t sample(std::span<const float> logits, std::span<const int64_t> history);
  // The candidates (id, probability) that survive the filters for these logits, most probable
  // first (greedy: the argmax alone). Exposed for tests.
  std::vector<std::pair<int64_t, double>> candidates(std::span<const float> logits, std::span<const int64_t> history) const;

 private:
  SamplingOptions o_;
  std::mt19937_64 rng_;
};

}  // namespace anatomy::inference
