// FLOPs of a meta run of the real forward against the closed forms of ARCHITECTURES.md:
// §8 (Nemotron-Nano-9B-v2, T=61), §9 (Zamba2-1.2B, T=35), §5.2 (GPT-2, T=1024), §7
// (mamba2-130m, T=1024), §6 (Llama), and the cache sizes of §10.
#include <gtest/gtest.h>

#include "analysis/cost.h"
#include "models/catalog.h"
#include "models/registry.h"

namespace anatomy::analysis {
namespace {

using ops::OpClass;

CostReport cost(const std::string& name, CostOptions o) {
  const auto m = models::build_model(models::find_catalog(name)->config, name);
  return analyze_cost(m, o);
}

double gf(double flops) { return flops / 1e9; }
double cls(const CostReport& r, OpClass c) { return gf(r.by_class[static_cast<size_t>(c)]); }

TEST(Cost, NemotronNano9bV2Prefill61) {
  const auto r = cost("nemotron-nano-9b-v2", {.tokens = 61});
  EXPECT_NEAR(gf(r.total), 1023.77, 0.005);
  EXPECT_NEAR(cls(r, OpClass::linear) + cls(r, OpClass::head), 1012.456, 0.001);
  EXPECT_NEAR(cls(r, OpClass::head), 71.639, 0.001);
  EXPECT_NEAR(cls(r, OpClass::ssm), 10.844, 0.001);
  EXPECT_NEAR(cls(r, OpClass::conv), 0.162, 0.001);
  EXPECT_NEAR(cls(r, OpClass::attention), 0.305, 0.001);
}

TEST(Cost, Zamba2Prefill35) {
  const auto r = cost("zamba2-1.2b", {.tokens = 35});
  EXPECT_NEAR(gf(r.total), 126.82, 0.005);
  EXPECT_NEAR(cls(r, OpClass::linear) + cls(r, OpClass::head), 123.15, 0.005);
  EXPECT_NEAR(cls(r, OpClass::ssm), 3.503, 0.001);
  EXPECT_NEAR(cls(r, OpClass::attention), 0.120, 0.001);
  EXPECT_NEAR(cls(r, OpClass::head), 4.588, 0.001);
  const auto last = cost("zamba2-1.2b", {.tokens = 35, .last_logits = true});
  EXPECT_NEAR(cls(last, OpClass::linear) + cls(last, OpClass::head), 118.69, 0.005);
}

TEST(Cost, Gpt2Prefill1024) {
  const auto r = cost("gpt2", {.tokens = 1024});
  EXPECT_NEAR(cls(r, OpClass::linear) + cls(r, OpClass::head), 252.99, 0.01);
  EXPECT_NEAR(cls(r, OpClass::attention), 38.66, 0.01);
}

TEST(Cost, Mamba2_130mPrefill1024) {
  const auto r = cost("mamba2-130m", {.tokens = 1024});
  EXPECT_NEAR(cls(r, OpClass::linear) + cls(r, OpClass::head), 263.61, 0.01);
  EXPECT_NEAR(cls(r, OpClass::conv), 0.35, 0.01);
  EXPECT_NEAR(cls(r, OpClass::ssm), 24.27, 0.01);
}

TEST(Cost, LlamaClosedFormAnyT) {
  // L·[2T·(d·Hq·hd + 2·d·Hkv·hd + Hq·hd·d + 3·d·I) + 4·Hq·T·Tk·hd] + 2·T·d·V (§6)
  const double L = 28, d = 3072, Hq = 24, Hkv = 8, hd = 128, I = 8192, V = 128256;
  for (double T : {1.0, 4.0, 100.0}) {
    const auto r = cost("llama-3.2-3b", {.tokens = static_cast<int64_t>(T)});
    const double expect = L * (2 * T * (d * Hq * hd + 2 * d * Hkv * hd + Hq * hd * d + 3 * d * I) + 4 * Hq * T * T * hd) +
                          2 * T * d * V;
    EXPECT_DOUBLE_EQ(r.total, expect) << T;
  }
  // One decode step after 512 cached tokens: keys span 513 positions; head on one token.
  const auto dec = cost("llama-3.2-3b", {.tokens = 1, .context = 512});
  EXPECT_DOUBLE_EQ(cls(dec, OpClass::attention) * 1e9, L * 4 * Hq * 1 * 513 * hd);
  // A prefill for generation (last logits only): the head and the last layer's MLP run on the
  // last position alone; every other layer and the last layer's attention on all T.
  const double T = 100;
  const auto last = cost("llama-3.2-3b", {.tokens = 100, .last_logits = true});
  EXPECT_DOUBLE_EQ(last.total, cost("llama-3.2-3b", {.tokens = 100}).total - (T - 1) * 2 * (3 * d * I + d * V));
}

// Nemotron-H's last layer is an MLP ('-'): a last-logits prefill runs it on one position.
TEST(Cost, LastLogitsPrefillRunsTheLastMlpOnOnePosition) {
  const double d = 4480, I = 15680, V = 131072, T = 61;  // nemotron-nano-9b-v2: ReLU² MLP, up and down
  const auto full = cost("nemotron-nano-9b-v2", {.tokens = 61});
  const auto last = cost("nemotron-nano-9b-v2", {.tokens = 61, .last_logits = true});
  EXPECT_DOUBLE_EQ(last.total, full.total - (T - 1) * 2 * (2 * d * I + d * V));
}

TEST(Cost, EncoderDecoderClosedForm) {
  // §4 with S = T: encoder layer 8Sd² + 4S²d + 4Sdf; decoder layer 8Td² + 4T²d + 4Td² + 4Sd² +
  // 4TSd + 4Tdf; head 2TdV (linear biases and norms are elementwise, outside the total).
  const double d = 16, f = 16, V = 50260, L = 2;
  for (double T : {1.0, 7.0, 32.0}) {
    const double S = T;
    const auto r = cost("transformer-encdec-seed", {.tokens = static_cast<int64_t>(T)});
    const double enc = 8 * S * d * d + 4 * S * S * d + 4 * S * d * f;
    const double dec = 8 * T * d * d + 4 * T * T * d + 4 * T * d * d + 4 * S * d * d + 4 * T * S * d + 4 * T * d * f;
    EXPECT_DOUBLE_EQ(r.total, L * (enc + dec) + 2 * T * d * V) << T;
  }
}

TEST(Cost, CacheSizes) {
  // §10, bf16: per token 114,688 B (Llama 3.2 3B), 16,384 B (Nemotron-H), 98,304 B (Zamba2).
  EXPECT_EQ(cost("llama-3.2-3b", {.tokens = 1}).memory.kv_cache_per_token, 114'688u);
  const auto n = cost("nemotron-nano-9b-v2", {.tokens = 1});
  EXPECT_EQ(n.memory.kv_cache_per_token, 16'384u);
  EXPECT_EQ(n.memory.ssm_state, 27u * 128 * 80 * 128 * 4) << "float32 SSM state, 27 Mamba layers";
  EXPECT_EQ(n.memory.conv_state, 27u * 12288 * 3 * 4) << "the last K−1 = 3 inputs per channel";
  const auto z = cost("zamba2-1.2b", {.tokens = 1, .context = 99});
  EXPECT_EQ(z.memory.kv_cache_per_token, 98'304u) << "six applications of the shared block, six caches";
  EXPECT_EQ(z.memory.kv_cache, 98'304u * 100);
}

TEST(Cost, ModuleTableIsConsistent) {
  const auto r = cost("llama-3.2-1b", {.tokens = 8});
  ASSERT_FALSE(r.modules.empty());
  EXPECT_EQ(r.modules[0].type, "LlamaForCausalLM");
  EXPECT_DOUBLE_EQ(r.modules[0].flops, r.total + r.elementwise) << "the root includes everything";
  double self = 0;
  for (const auto& m : r.modules) self += m.self_flops;
  EXPECT_DOUBLE_EQ(self, r.total + r.elementwise) << "self FLOPs partition the total";
  bool found = false;
  for (const auto& m : r.modules)
    if (m.path == "model.layers.3.self_attn.q_proj") {
      found = true;
      EXPECT_EQ(m.input, (Shape{1, 8, 2048}));
      EXPECT_EQ(m.output, (Shape{1, 8, 2048}));
      EXPECT_EQ(m.params, 2048u * 2048u);
      EXPECT_DOUBLE_EQ(m.flops, 2.0 * 8 * 2048 * 2048);
    }
  EXPECT_TRUE(found);
  EXPECT_GT(r.memory.activation_peak, 0u);
}

}  // namespace
}  // namespace anatomy::analysis
