// Benchmark: what profiling costs and how well its parts add up. Runs the profiler on a catalog
// model with synthetic weights (default llama-3.2-1b, prefill T=128, as in the issue) and prints
// the overhead (median of paired instrumented/plain passes, and the ratio of the fastest of each)
// and the sum-of-self-times error against the uninstrumented forward time.
//   bench_profile_overhead [model] [tokens] [F32|BF16|F16] [repeat] [threads]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>

#include "analysis/profile.h"
#include "backend/device.h"
#include "models/catalog.h"
#include "models/checkpoint.h"
#include "models/registry.h"

using namespace anatomy;

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "llama-3.2-1b";
  const int64_t tokens = argc > 2 ? std::atoll(argv[2]) : 128;
  const DType dtype = *dtype_from_string(argc > 3 ? argv[3] : "F32");
  const int repeat = argc > 4 ? std::atoi(argv[4]) : 11;
  backend::apply_isa_cap();
  backend::set_threads(argc > 5 ? std::atoi(argv[5]) : 2);

  auto model = models::build_model(models::find_catalog(name)->config, name);
  const auto weights = models::synthetic_weights(model, 1, dtype);
  models::bind_weights(model, weights);
  models::freeze_weights(model);
  const auto r = analysis::profile_model(model, {.tokens = tokens, .warmup = 2, .repeat = repeat});

  const double sum_self = std::accumulate(r.self_s.begin(), r.self_s.end(), 0.0);
  const double fastest_plain = *std::min_element(r.plain_s.begin(), r.plain_s.end());
  const double fastest_instr = *std::min_element(r.instrumented_s.begin(), r.instrumented_s.end());
  std::printf("| %s %s T=%lld, %d threads, %zu scopes/pass | forward %.1f ms (p10 %.1f, p90 %.1f) | "
              "overhead: paired median %+.2f%%, fastest/fastest %+.2f%% | sum of self %.1f ms: %+.2f%% |\n",
              name.c_str(), dtype_name(dtype), static_cast<long long>(tokens), backend::threads(), r.cost.modules.size(),
              r.forward.median * 1e3, r.forward.p10 * 1e3, r.forward.p90 * 1e3, 100 * r.overhead.median,
              100 * (fastest_instr / fastest_plain - 1), sum_self * 1e3, 100 * (sum_self / r.forward.median - 1));
  return 0;
}
