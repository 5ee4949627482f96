// The profiler: the real forward with timing scopes at module boundaries. One cold pass (fresh
// caches, collecting every op's cost), W warm-up passes that count nowhere, then N repeats of an
// uninstrumented pass (the forward time) and an instrumented one (time per module) interleaved, so
// that the profiler's own overhead is measured in the same process and conditions.
#pragma once

#include <vector>

#include "analysis/cost.h"
#include "analysis/device.h"
#include "analysis/stats.h"
#include "backend/backend.h"
#include "core/progress.h"
#include "models/model.h"

namespace anatomy::analysis {

struct ProfileOptions {
  int64_t batch = 1;
  int64_t tokens = 128;   // prefill length, or 1 with decode
  bool decode = false;    // one decode step after `context` cached tokens
  int64_t context = 0;
  int warmup = 2;
  int repeat = 5;
  // Encoder-decoders: the encoder's input (each batch row); empty = the target ids themselves.
  std::vector<int64_t> source_ids;
  // Where the passes run; the model's weights must already be on its device.
  std::shared_ptr<const backend::Backend> backend = backend::cpu();
};

struct ProfileReport {
  ProfileOptions options;
  CostReport cost;                  // the cold pass's scopes and op costs (the same as inspect's)
  double first_forward_s = 0;       // cold pass
  double context_prefill_s = 0;     // decode: filling the cache (setup, not profiled)
  std::vector<double> plain_s;         // each uninstrumented timed pass
  std::vector<double> instrumented_s;  // each instrumented timed pass (interleaved with plain_s)
  int passes = 0;                      // every forward run, cold and warm-up included
  Stats forward;                       // of plain_s: the forward time
  Stats instrumented;
  // The paired (instrumented − plain) / plain ratios: their median is the overhead, their spread
  // says whether it can be told from noise (a negative median within the spread is noise).
  Stats overhead;
  std::vector<double> inclusive_s;  // per cost.modules entry: median over instrumented passes
  std::vector<double> self_s;
};

// Throws a config error naming the option when the options cannot be profiled.
void check_options(const ProfileOptions& options);
ProfileReport profile_model(const models::Model& model, const ProfileOptions& options,
                            Progress& progress = silent_progress());

// The profile as one JSON document (schema docs/profile.md): every figure the tables show, each
// efficiency with the ceiling it divides by and where that ceiling came from.
io::ordered_json profile_document(const ProfileReport& report, const Ceilings& ceilings, DType weights);

}  // namespace anatomy::analysis
