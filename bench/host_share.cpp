// Where a GPU forward's time goes between the host and the GPU: the same pass (a prefill of
// TOKENS, or with --decode one step after TOKENS cached) timed three ways on synthetic bf16
// weights — issued op by op and waited for (what bench reports), only issued (the host's time to
// queue every op), and replayed from a CUDA graph recorded once (the GPU's own time, no host in
// the way). When the first is near the second, the pass is host-bound. A prefill computes every
// position's logits here (the last-position slice cannot be recorded), and its attention runs the
// flash kernel inside the recording (the batched-GEMM path sizes its buffers by the keys).
// usage: bench_host_share MODEL TOKENS [--decode] [REPEAT]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "backend/backend.h"
#include "models/checkpoint.h"
#include "models/loader.h"
#include "nn/module.h"

using namespace anatomy;

namespace {

using Clock = std::chrono::steady_clock;

double median_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2] * 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_host_share MODEL TOKENS [--decode] [REPEAT]\n");
    return 2;
  }
  const bool decode = argc > 3 && std::strcmp(argv[3], "--decode") == 0;
  const int repeat = argc > 3 + decode ? std::atoi(argv[3 + decode]) : 20;
  const int64_t tokens = std::atoll(argv[2]), T = decode ? 1 : tokens, past = decode ? tokens : 0;
  const auto gpu = backend::cuda();
  models::LoadedModel lm = models::load_model(argv[1]);
  const auto w = models::synthetic_weights(lm.model, 1, DType::BF16);
  models::bind_weights(lm.model, w);
  models::freeze_weights(lm.model);
  models::upload_weights(lm.model, *gpu);
  const ops::Context ctx(gpu);
  nn::State state(1, past + T);
  Tensor ids = Tensor::empty(DType::I64, {1, T});
  for (int64_t i = 0; i < T; ++i) ids.data<int64_t>()[i] = 1 + i % 100;
  const Tensor device_ids = gpu->upload(ids);
  // One pass at position `past` of the same state (caches and Mamba states are overwritten in place).
  const auto pass = [&] {
    state.past = past;
    nn::Run run(ctx, state);
    run.last_logits_only = decode;
    return lm.model.root->forward_ids(run, device_ids);
  };
  std::vector<double> waited, issued, replayed;
  for (int r = 0; r < 3 + repeat; ++r) {
    const auto t0 = Clock::now();
    const Tensor logits = pass();
    const auto t1 = Clock::now();
    gpu->synchronize();
    if (r >= 3) {
      issued.push_back(std::chrono::duration<double>(t1 - t0).count());
      waited.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  Tensor out;
  const auto recording = gpu->record([&] { out = pass(); });
  for (int r = 0; r < 3 + repeat; ++r) {
    const auto t0 = Clock::now();
    recording->replay(0);
    gpu->synchronize();
    if (r >= 3) replayed.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::printf("%s, %s %lld tokens, medians of %d: op by op %.3f ms (issuing alone %.3f ms), replayed graph %.3f ms\n",
              argv[1], decode ? "one decode step after" : "prefill of", static_cast<long long>(tokens), repeat,
              median_ms(waited), median_ms(issued), median_ms(replayed));
  return 0;
}
