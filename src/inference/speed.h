// Speed figures in the manner of llama-bench: prefill of T tokens (logits of the last position,
// as llama-bench's pp test), decode of N tokens one pass at a time from an empty cache (its tg
// test), and whole-sequence generation of a stated workload; each after `warmup` untimed runs,
// then `repeat` timed ones (mean, stdev, median). Token ids are a fixed pseudo-random draw.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "models/model.h"

namespace anatomy::inference {

struct Spread {
  std::vector<double> seconds;  // each timed run
  double mean = 0, stdev = 0, median = 0, p90 = 0;
  static Spread of(std::vector<double> seconds);
};

struct PrefillSpeed {
  int64_t tokens = 0, batch = 1;
  Spread time;  // of one prefill pass (also the time to the first token's logits)
};

struct DecodeSpeed {
  int64_t tokens = 0, batch = 1;
  Spread time;      // of all N steps
  Spread latency;   // of single steps, pooled over the timed runs
  std::string cache;  // cached_state() of generate.h
  std::string launch;  // how the steps ran (StatePasses::how)
};

struct WorkloadSpeed {
  int64_t prompt = 0, new_tokens = 0, batch = 1;
  Spread time;  // prefill + new_tokens greedy steps
};

// `device`: where the passes run (the model's weights already on it); each pass ends when its
// next-token choice is on the host.
using BackendPtr = std::shared_ptr<const backend::Backend>;
PrefillSpeed measure_prefill(const models::Model& model, int64_t tokens, int64_t batch, int warmup, int repeat,
                             const BackendPtr& device = backend::cpu());
DecodeSpeed measure_decode(const models::Model& model, int64_t tokens, int64_t batch, int warmup, int repeat,
                           const BackendPtr& device = backend::cpu());
WorkloadSpeed measure_workload(const models::Model& model, int64_t prompt, int64_t new_tokens, int64_t batch, int warmup,
                               int repeat, const BackendPtr& device = backend::cpu());

}  // namespace anatomy::inference
