// The profiler's invariants on small models (never timings): self times add up to the forward,
// every module's FLOPs and bytes equal inspect's meta run, warm-up and cold passes are excluded,
// calls per pass are right, blocks are classified, and the JSON document has its schema.
#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <sstream>

#include "analysis/profile.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/kernels.h"
#include "core/error.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "small_configs.h"
#include "test_util.h"

namespace anatomy::analysis {
namespace {

struct Profiled {
  models::Model model;
  io::NamedTensors weights;
  ProfileReport report;
};

Profiled profile(const std::string& family, const ProfileOptions& o) {
  Profiled p{models::build_model(test::small_configs().at(family), "test"), {}, {}};
  p.weights = models::synthetic_weights(p.model, 3, DType::F32);
  models::bind_weights(p.model, p.weights);
  p.report = profile_model(p.model, o);
  return p;
}

Ceilings fake_ceilings() {
  Ceilings c;
  c.measured_at = "2026-01-01T00:00:00Z";
  c.gemm = {{"F32", 64, 64, 64, "large square", 100.0}, {"BF16", 64, 64, 64, "large square", 50.0}};
  c.read_gbs = 20;
  c.triad_gbs = 25;
  return c;
}

TEST(Profile, SelfTimesAddUpToTheRootPass) {
  // One timed pass: the medians are that pass's values, so Σ self = the root's inclusive time.
  for (const auto& [family, config] : test::small_configs()) {
    const auto p = profile(family, {.tokens = 5, .warmup = 0, .repeat = 1});
    const auto& r = p.report;
    const double sum = std::accumulate(r.self_s.begin(), r.self_s.end(), 0.0);
    EXPECT_NEAR(sum, r.inclusive_s[0], 1e-9) << family;
    EXPECT_LE(r.inclusive_s[0], r.instrumented_s[0]) << family;
    for (size_t i = 0; i < r.self_s.size(); ++i) EXPECT_GE(r.self_s[i], -1e-9) << family << " " << r.cost.modules[i].path;
  }
}

TEST(Profile, FlopsAndBytesPerModuleEqualInspect) {
  for (const auto& [family, config] : test::small_configs())
    for (const ProfileOptions& o : {ProfileOptions{.tokens = 7, .warmup = 1, .repeat = 1},
                                    ProfileOptions{.batch = 2, .tokens = 1, .decode = true, .context = 4, .warmup = 0, .repeat = 2}}) {
      const auto p = profile(family, o);
      const CostReport meta = analyze_cost(p.model, {o.batch, o.tokens, o.context, o.decode});
      const auto& mods = p.report.cost.modules;
      ASSERT_EQ(mods.size(), meta.modules.size()) << family;
      for (size_t i = 0; i < mods.size(); ++i) {
        EXPECT_EQ(mods[i].path, meta.modules[i].path) << family;
        EXPECT_EQ(mods[i].type, meta.modules[i].type) << family;
        EXPECT_EQ(mods[i].flops, meta.modules[i].flops) << family << " " << mods[i].path;
        EXPECT_EQ(mods[i].self_flops, meta.modules[i].self_flops) << family << " " << mods[i].path;
        EXPECT_EQ(mods[i].bytes, meta.modules[i].bytes) << family << " " << mods[i].path;
        EXPECT_EQ(mods[i].self_bytes, meta.modules[i].self_bytes) << family << " " << mods[i].path;
      }
      EXPECT_EQ(p.report.cost.total, meta.total) << family;
    }
}

// Weights frozen as inference loads them and the packed path planned: q/k/v and gate/up run as one
// GEMM each, shown as one scope ("q_proj+k_proj+v_proj", "gate_proj+up_proj") whose FLOPs are its
// members' in inspect's meta run (which never fuses); every other scope is unchanged, and the logits
// are the unfused pass's.
TEST(Profile, FusedProjectionsKeepInspectsFlops) {
  if (!cpu::have_avx2()) GTEST_SKIP() << "no AVX2: projections run one by one";
  const test::ScopedLinearPlan plan({{{DType::F32, 2, cpu::LinearPath::packed}}, "test plan"});
  size_t fused_scopes = 0;
  for (const auto& [family, config] : test::small_configs()) {
    Profiled p{models::build_model(config, "test"), {}, {}};
    p.weights = models::synthetic_weights(p.model, 3, DType::F32);
    models::bind_weights(p.model, p.weights);
    const Tensor ids = Tensor::zeros(DType::I64, {1, 7});
    auto logits = [&] {
      const ops::Context ctx(backend::cpu());
      nn::State state(1, 7);
      nn::Run run(ctx, state);
      return p.model.root->forward_ids(run, ids);
    };
    const Tensor unfused = logits();
    models::freeze_weights(p.model);
    const Tensor fused = logits();
    for (uint64_t i = 0; i < fused.numel(); ++i)
      ASSERT_NEAR(fused.data<float>()[i], unfused.data<float>()[i], 1e-4) << family << " logit " << i;

    p.report = profile_model(p.model, {.tokens = 7, .warmup = 0, .repeat = 1});
    std::map<std::string, double> inspect;
    for (const auto& m : analyze_cost(p.model, {.tokens = 7}).modules) inspect[m.path] = m.flops;
    for (const auto& m : p.report.cost.modules) {
      const size_t plus = m.path.find('+');
      if (plus == std::string::npos) {
        EXPECT_EQ(m.flops, inspect.at(m.path)) << family << " " << m.path;
        continue;
      }
      ++fused_scopes;
      const std::string parent = m.path.substr(0, m.path.rfind('.', plus) + 1);
      double members = 0;
      std::stringstream names(m.path.substr(parent.size()));
      for (std::string name; std::getline(names, name, '+');) members += inspect.at(parent + name);
      if (m.path.ends_with("gate_proj+up_proj")) members += inspect.at(parent + "act_fn") + 7.0 * m.output.back();  // the product
      EXPECT_EQ(m.flops, members) << family << " " << m.path;
    }
    EXPECT_EQ(p.report.cost.total, analyze_cost(p.model, {.tokens = 7}).total) << family;
  }
  EXPECT_GE(fused_scopes, 8u);  // llama, qwen3, nemotron_h, zamba2: q/k/v; llama, qwen3: gate/up
}

TEST(Profile, ColdAndWarmupPassesAreExcluded) {
  const auto p = profile("llama", {.tokens = 3, .warmup = 3, .repeat = 4});
  const auto& r = p.report;
  EXPECT_EQ(r.passes, 1 + 3 + 2 * 4);  // cold + warm-up + interleaved plain/instrumented
  ASSERT_EQ(r.plain_s.size(), 4u);
  ASSERT_EQ(r.instrumented_s.size(), 4u);
  EXPECT_EQ(r.forward.min, *std::min_element(r.plain_s.begin(), r.plain_s.end()));
  EXPECT_EQ(r.forward.max, *std::max_element(r.plain_s.begin(), r.plain_s.end()));
  EXPECT_GT(r.first_forward_s, 0);
  EXPECT_EQ(r.context_prefill_s, 0);
}

TEST(Profile, RepeatedDecodePassesComputeTheSameStep) {
  // Every timed pass restarts from the same cache position and recurrent state.
  const auto p = profile("zamba2", {.tokens = 1, .decode = true, .context = 6, .warmup = 2, .repeat = 3});
  EXPECT_EQ(p.report.passes, 1 + 2 + 6);
  EXPECT_GT(p.report.context_prefill_s, 0);
}

TEST(Profile, StatsUseNearestRanks) {
  const Stats s = stats_of({5, 1, 4, 2, 3});
  EXPECT_EQ(s.median, 3);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 5);
  EXPECT_EQ(s.p10, 1);
  EXPECT_EQ(s.p90, 5);
}

TEST(Profile, RejectsBadOptions) {
  EXPECT_THROW(profile("llama", {.tokens = 0}), Error);
  EXPECT_THROW(profile("llama", {.tokens = 1, .decode = true, .context = 0}), Error);
  EXPECT_THROW(profile("llama", {.tokens = 2, .repeat = 0}), Error);
  EXPECT_THROW(profile("llama", {.tokens = 2, .warmup = -1}), Error);
}

const io::ordered_json* find_row(const io::ordered_json& rows, const std::string& key, const std::string& value) {
  for (const auto& r : rows)
    if (r[key] == value) return &r;
  return nullptr;
}

TEST(ProfileDocument, CallsPerPassAndBlockKinds) {
  const auto llama = profile_document(profile("llama", {.tokens = 4, .warmup = 0, .repeat = 1}).report, fake_ceilings(), DType::F32);
  // 2 layers × (q, k, v, o, gate, up, down) + lm_head; 2 × 2 layer norms + the final norm.
  EXPECT_EQ((*find_row(llama["types"], "type", "Linear"))["calls_per_pass"], 15);
  EXPECT_EQ((*find_row(llama["types"], "type", "LlamaRMSNorm"))["calls_per_pass"], 5);
  ASSERT_EQ(llama["blocks"].size(), 2u);
  EXPECT_EQ(llama["blocks"][0]["kind"], "decoder layer");
  EXPECT_EQ(llama["blocks"][1]["path"], "model.layers.1");

  const auto nemotron =
      profile_document(profile("nemotron_h", {.tokens = 4, .warmup = 0, .repeat = 1}).report, fake_ceilings(), DType::F32);
  ASSERT_EQ(nemotron["blocks"].size(), 3u);  // pattern "M*-"
  EXPECT_EQ(nemotron["blocks"][0]["kind"], "mamba");
  EXPECT_EQ(nemotron["blocks"][1]["kind"], "attention");
  EXPECT_EQ(nemotron["blocks"][2]["kind"], "mlp");

  const auto zamba = profile_document(profile("zamba2", {.tokens = 4, .warmup = 0, .repeat = 1}).report, fake_ceilings(), DType::F32);
  ASSERT_EQ(zamba["blocks"].size(), 3u);
  EXPECT_EQ(zamba["blocks"][0]["kind"], "mamba");
  EXPECT_EQ(zamba["blocks"][1]["kind"], "hybrid");
  // Each type's calls per pass equal the number of scopes of that type in inspect's module list.
  const auto p = profile("zamba2", {.tokens = 4, .warmup = 0, .repeat = 1});
  const CostReport meta = analyze_cost(p.model, {.tokens = 4});
  for (const auto& [type, calls_flops] : meta.by_type)
    EXPECT_EQ((*find_row(zamba["types"], "type", type))["calls_per_pass"], calls_flops.first) << type;
}

TEST(ProfileDocument, EfficiencyNamesItsCeiling) {
  const auto d = profile_document(profile("llama", {.tokens = 4, .warmup = 0, .repeat = 1}).report, fake_ceilings(), DType::BF16);
  EXPECT_EQ(d["ceilings"]["gemm_gflops_per_s"], 50.0);  // the BF16 ceiling for BF16 weights
  EXPECT_NE(d["ceilings"]["source"].get<std::string>().find("2026-01-01T00:00:00Z"), std::string::npos);
  EXPECT_DOUBLE_EQ(d["ceilings"]["balance_flops_per_byte"].get<double>(), 50e9 / 20e9);
  for (const auto& m : d["modules"]) {
    const std::string bound = m["bound"];
    EXPECT_TRUE(bound == "compute" || bound == "memory" || bound == "none") << bound;
    if (bound == "compute") {
      EXPECT_GE(m["intensity"].get<double>(), 2.5) << m["path"];
    } else if (bound == "memory") {
      EXPECT_LT(m["intensity"].get<double>(), 2.5) << m["path"];
    }
  }
  // F16 weights have no F16 measurement here: the F32 ceiling is used, and named.
  const auto f16 = profile_document(profile("llama", {.tokens = 4, .warmup = 0, .repeat = 1}).report, fake_ceilings(), DType::F16);
  EXPECT_NE(f16["ceilings"]["gemm"].get<std::string>().find("F32"), std::string::npos);
}

// The documented schema (docs/profile.md): every key with its JSON type.
TEST(ProfileDocument, Schema) {
  using T = io::ordered_json::value_t;
  const auto d = profile_document(profile("mamba2", {.tokens = 4, .warmup = 1, .repeat = 2}).report, fake_ceilings(), DType::F32);
  auto number = [](const io::ordered_json& j) { return j.is_number(); };
  auto expect_keys = [&](const io::ordered_json& obj, const std::vector<std::pair<std::string, T>>& keys) {
    for (const auto& [k, t] : keys) {
      ASSERT_TRUE(obj.contains(k)) << k;
      if (t == T::number_float) EXPECT_TRUE(number(obj[k])) << k;
      else EXPECT_EQ(obj[k].type(), t) << k;
    }
  };
  const auto f = T::number_float, s = T::string, o = T::object, a = T::array;
  expect_keys(d, {{"schema", s}, {"options", o}, {"ceilings", o}, {"timing", o}, {"flops", o}, {"blocks", a}, {"types", a}, {"modules", a}});
  EXPECT_EQ(d["schema"], "anatomy.profile/1");
  expect_keys(d["options"], {{"batch", f}, {"tokens", f}, {"decode", T::boolean}, {"context", f}, {"warmup", f}, {"repeat", f},
                             {"threads", f}, {"weights_dtype", s}});
  expect_keys(d["ceilings"], {{"gemm_gflops_per_s", f}, {"gemm", s}, {"memory_read_gb_per_s", f}, {"balance_flops_per_byte", f},
                              {"source", s}, {"processor", s}, {"cache_file", s}});
  expect_keys(d["timing"], {{"context_prefill_ms", f}, {"first_forward_ms", f}, {"forward_ms", o}, {"instrumented_ms", o},
                            {"tokens_per_s", f}, {"overhead_pct", f}, {"plain_passes_ms", a}, {"instrumented_passes_ms", a},
                            {"sum_of_self_ms", f}, {"sum_error_pct", f}});
  for (const char* k : {"forward_ms", "instrumented_ms"})
    expect_keys(d["timing"][k], {{"median", f}, {"p10", f}, {"p90", f}, {"min", f}, {"max", f}, {"spread_pct", f}});
  EXPECT_EQ(d["timing"]["plain_passes_ms"].size(), 2u);
  expect_keys(d["flops"], {{"total", f}, {"elementwise", f}, {"by_class", o}, {"gflops_per_s", f}, {"pct_of_peak", f}});
  EXPECT_EQ(d["flops"]["by_class"].size(), static_cast<size_t>(ops::kOpClasses));
  for (const auto& b : d["blocks"])
    expect_keys(b, {{"index", f}, {"path", s}, {"type", s}, {"kind", s}, {"ms", f}, {"pct_of_forward", f}, {"flops", f},
                    {"flops_by_class", o}, {"bytes", f}, {"gflops_per_s", f}, {"pct_of_peak", f}, {"bound", s},
                    {"pct_of_ceiling", f}});
  for (const auto& t : d["types"])
    expect_keys(t, {{"type", s}, {"calls_per_pass", f}, {"self_ms", f}, {"self_pct_of_forward", f}, {"inclusive_ms", f},
                    {"mean_inclusive_ms", f}});
  for (const auto& m : d["modules"])
    expect_keys(m, {{"path", s}, {"type", s}, {"depth", f}, {"calls", f}, {"inclusive_ms", f}, {"self_ms", f}, {"flops", f},
                    {"self_flops", f}, {"bytes", f}, {"self_bytes", f}, {"self_gflops_per_s", f}, {"self_gb_per_s", f},
                    {"intensity", f}, {"bound", s}, {"pct_of_ceiling", f}});
}

}  // namespace
}  // namespace anatomy::analysis
