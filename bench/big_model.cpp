// Benchmark: a large catalog model (default nemotron-nano-9b-v2) on this 24 GB machine. Writes a
// synthetic bf16 checkpoint shard by shard (never holding more than one shard), then maps it and
// runs one prefill, reporting time and peak resident memory: the weights must stay in their
// stored dtype and be mapped, not copied.
//   bench_big_model [model] [tokens] [dir]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "analysis/cost.h"
#include "core/half.h"
#include "models/catalog.h"
#include "models/checkpoint.h"
#include "models/loader.h"
#include "models/registry.h"
#include "nn/module.h"

using namespace anatomy;

namespace {

// Small random bf16 values from a xorshift generator (fast enough for 9B parameters).
Tensor fill(const Shape& shape, uint64_t& state, bool ones) {
  Tensor t = Tensor::empty(DType::BF16, shape);
  auto* p = t.data<uint16_t>();
  for (uint64_t i = 0; i < t.numel(); ++i) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    const float v = ones ? 1.0f : (static_cast<float>(state >> 40) / 16777216.0f - 0.5f) * 0.04f;
    p[i] = f32_to_bf16(v);
  }
  return t;
}

void write_checkpoint(const models::Model& m, const io::json& config, const std::string& dir) {
  namespace fs = std::filesystem;
  if (fs::exists(dir + "/model.safetensors.index.json")) return;
  fs::create_directories(dir);
  io::ordered_json index{{"metadata", io::json::object()}, {"weight_map", io::json::object()}};
  io::NamedTensors shard;
  uint64_t bytes = 0, state = 88172645463325252ull;
  int n = 0;
  auto flush = [&] {
    const std::string name = "model-" + std::to_string(++n) + ".safetensors";
    io::write_safetensors(dir + "/" + name, shard);
    for (const auto& [t, _] : shard) index["weight_map"][t] = name;
    shard.clear();
    bytes = 0;
  };
  std::set<const nn::Parameter*> seen;
  for (const auto& ref : nn::parameter_slots(*m.root)) {
    if (!seen.insert(ref.param.get()).second) continue;
    const bool norm = ref.owner->type().find("Norm") != std::string::npos;
    shard.emplace_back(ref.path, fill(ref.param->value.shape(), state, norm));
    bytes += shard.back().second.nbytes();
    if (bytes > (2ull << 30)) flush();
  }
  if (!shard.empty()) flush();
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump(1);
  std::ofstream(dir + "/config.json") << config.dump(1);
}

double max_rss_gib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "nemotron-nano-9b-v2";
  const int64_t T = argc > 2 ? std::atoll(argv[2]) : 61;
  const std::string dir = argc > 3 ? argv[3] : "build/bench-data/" + name + "-bf16";
  io::json config = models::find_catalog(name)->config;
  config["torch_dtype"] = "bfloat16";
  write_checkpoint(models::build_model(config, name), config, dir);
  std::printf("checkpoint written; peak RSS so far %.2f GiB\n", max_rss_gib());

  auto t0 = std::chrono::steady_clock::now();
  models::LoadedModel lm = models::load_model(dir);
  models::map_weights(lm);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nn::LanguageModel& root = *lm.model.root;
  const double flops = analysis::analyze_cost(lm.model, {.tokens = T}).total;
  for (int r = 0; r < 2; ++r) {
    const ops::Context ctx(backend::cpu());
    nn::State state(1, T);
    nn::Run run(ctx, state);
    t0 = std::chrono::steady_clock::now();
    const Tensor logits = root.forward_ids(run, Tensor::zeros(DType::I64, {1, T}));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("| %s bf16 mapped | %s forward T=%lld: %.2f s, %.1f GFLOP/s | logits %s | map %.2f s | peak RSS %.2f GiB |\n",
                name.c_str(), r == 0 ? "cold" : "warm", static_cast<long long>(T), s, flops / s / 1e9,
                shape_str(logits.shape()).c_str(), load_s, max_rss_gib());
  }
  return 0;
}
