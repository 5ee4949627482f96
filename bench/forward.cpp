// Benchmark: prefill and decode speed of anatomy's forward on a catalog model with synthetic
// weights (default: Llama-3.2-1B-shaped with vocab 32000, as in the measurements),
// medians after warm-up, with the achieved GFLOP/s (FLOPs from the meta run inspect uses).
// Each decode step is followed by a pass of the read probe (read_probe.h), so that decode's rate —
// the stored weights' bytes per step — is set against the bandwidth the machine gave at that
// moment: this host's moves between ~30 and ~58 GB/s within minutes, and a probe run at another
// time cannot judge a decode step. Reported: the medians of both rates and of their per-step ratio.
//   bench_forward [threads] [prefill_tokens] [decode_steps] [model] [F32|BF16|F16|both]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "analysis/cost.h"
#include "analysis/device.h"
#include "analysis/stats.h"
#include "backend/device.h"
#include "models/catalog.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "nn/module.h"
#include "read_probe.h"

using namespace anatomy;
using Clock = std::chrono::steady_clock;

namespace {

models::Model model_with(const std::string& name, DType dtype) {
  io::json config = models::find_catalog(name)->config;
  if (name == "llama-3.2-1b") config["vocab_size"] = 32000;
  auto m = models::build_model(config, "bench");
  auto w = models::synthetic_weights(m, 1, dtype);
  models::bind_weights(m, w);
  models::freeze_weights(m);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int64_t T = argc > 2 ? std::atoll(argv[2]) : 128;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 16;
  const std::string name = argc > 4 ? argv[4] : "llama-3.2-1b";
  const std::string which = argc > 5 ? argv[5] : "both";
  std::vector<DType> dtypes;
  if (which == "both") dtypes = {DType::F32, DType::BF16};
  else dtypes = {*dtype_from_string(which)};
  backend::apply_isa_cap();
  backend::set_threads(threads);
  const std::string plan = analysis::use_calibrated_gemm_plan();
  std::printf("threads %d, kernels %s, prefill GEMM paths: %s\n", backend::threads(), backend::kernel_isa().c_str(), plan.c_str());

  const ReadProbe probe;
  for (DType dtype : dtypes) {
    const auto m = model_with(name, dtype);
    const nn::LanguageModel& lm = *m.root;
    const double flops = analysis::analyze_cost(m, {.tokens = T}).total,
                 flops_last = analysis::analyze_cost(m, {.tokens = T, .last_logits = true}).total;
    // Two prefill forms, alternating so that machine noise hits both: logits for every position
    // (what PyTorch's peer computes) and for the last one only (what generation needs, and what
    // llama.cpp's peer computes: it asks for the next token's logits alone).
    std::vector<double> prefill, prefill_last;
    for (int r = 0; r < 4; ++r)  // first round is the warm-up
      for (bool last : {false, true}) {
        const ops::Context ctx(backend::cpu());
        nn::State state(1, T + steps);
        nn::Run run(ctx, state);
        run.last_logits_only = last;
        Tensor ids = Tensor::zeros(DType::I64, {1, T});
        const auto t0 = Clock::now();
        lm.forward_ids(run, ids);
        if (r) (last ? prefill_last : prefill).push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
    std::vector<double> decode, probe_gbps, ratio;
    const double weight_bytes = static_cast<double>(analysis::analyze_cost(m, {.tokens = 1, .context = 16}).memory.weights);
    {
      const ops::Context ctx(backend::cpu());
      nn::State state(1, 16 + steps + 1);
      nn::Run run(ctx, state);
      run.last_logits_only = true;
      lm.forward_ids(run, Tensor::zeros(DType::I64, {1, 16}));
      for (int s = 0; s <= steps; ++s) {
        const auto t0 = Clock::now();
        lm.forward_ids(run, Tensor::zeros(DType::I64, {1, 1}));
        const double step = std::chrono::duration<double>(Clock::now() - t0).count();
        const double read_gbps = probe.gbps();
        if (!s) continue;  // warm-up
        decode.push_back(step);
        probe_gbps.push_back(read_gbps);
        ratio.push_back(weight_bytes / step / 1e9 / read_gbps);
      }
    }
    const double p = analysis::stats_of(prefill).median, pl = analysis::stats_of(prefill_last).median,
                 d = analysis::stats_of(decode).median;
    std::printf("| %s %s | prefill T=%lld: %.2f s, %.1f tok/s, %.1f GFLOP/s | last logits only: %.1f tok/s, %.1f GFLOP/s "
                "| decode: %.1f ms/token, %.2f tok/s, %.1f GB/s of weights = %.1f %% of the read probe beside it (%.1f GB/s) |\n",
                name.c_str(), dtype_name(dtype), static_cast<long long>(T), p, static_cast<double>(T) / p, flops / p / 1e9,
                static_cast<double>(T) / pl, flops_last / pl / 1e9, d * 1e3, 1.0 / d, weight_bytes / d / 1e9,
                100 * analysis::stats_of(ratio).median, analysis::stats_of(probe_gbps).median);
  }
  return 0;
}
