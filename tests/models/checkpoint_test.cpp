// Checkpoints written with the project's own writer are read back header-only and bound to the
// model tree by name and shape; mismatches are listed.
#include <gtest/gtest.h>

#include "analysis/params.h"
#include "core/error.h"
#include "models/catalog.h"
#include "models/checkpoint.h"
#include "models/loader.h"
#include "models/registry.h"
#include "test_util.h"

namespace anatomy::models {
namespace {

using test::TempDir;

json small_llama() {
  return {{"model_type", "llama"}, {"hidden_size", 64}, {"intermediate_size", 160}, {"num_hidden_layers", 3},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 300},
          {"tie_word_embeddings", true}, {"torch_dtype", "bfloat16"},
          {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0},
                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}}}};
}

TEST(Checkpoint, ShardedBf16LlamaIsInspectedFromHeaders) {
  TempDir tmp;
  const Model m = build_model(small_llama(), "config.json");
  const auto weights = synthetic_weights(m, 7, DType::BF16);
  write_checkpoint(tmp.path(), small_llama(), weights, 40'000);
  const LoadedModel lm = load_model(tmp.path());
  EXPECT_EQ(lm.format.rfind("safetensors, ", 0), 0u) << lm.format;
  EXPECT_GT(std::stoi(lm.format.substr(13)), 2) << "several shards";
  EXPECT_TRUE(lm.has_weights());
  const auto r = analysis::count_params(lm.model);
  EXPECT_EQ(r.total, analysis::count_params(m).total);
  EXPECT_EQ(r.by_dtype.size(), 1u);
  EXPECT_EQ(r.by_dtype.begin()->first, "BF16");
  EXPECT_EQ(r.bytes, 2 * r.total);
  EXPECT_EQ(lm.binding.size(), weights.size()) << "the tied head is bound through the embedding";
  EXPECT_LT(lm.header_bytes_read, lm.file_bytes / 10) << "only headers are read";
}

TEST(Checkpoint, SyntheticWeightsAreDeterministic) {
  const Model m = build_model(small_llama(), "config.json");
  const auto a = synthetic_weights(m, 3, DType::F32), b = synthetic_weights(m, 3, DType::F32),
             c = synthetic_weights(m, 4, DType::F32);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a[1].second.raw(), b[1].second.raw(), a[1].second.nbytes()), 0);
  EXPECT_NE(std::memcmp(a[1].second.raw(), c[1].second.raw(), a[1].second.nbytes()), 0);
}

TEST(Checkpoint, MismatchesAreListed) {
  TempDir tmp;
  const Model m = build_model(small_llama(), "config.json");
  auto weights = synthetic_weights(m, 1, DType::F32);
  weights.erase(weights.begin() + 1);                                      // missing
  weights.emplace_back("model.layers.0.extra.weight", Tensor::zeros(DType::F32, {2}));  // unexpected
  weights.back().second = Tensor::zeros(DType::F32, {2});
  for (auto& [name, t] : weights)
    if (name == "model.norm.weight") t = Tensor::zeros(DType::F32, {65});  // wrong shape
  write_checkpoint(tmp.path(), small_llama(), weights);
  try {
    load_model(tmp.path());
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("missing 1: model.layers.0.self_attn.q_proj.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected 1: model.layers.0.extra.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("wrong shape 1: model.norm.weight [65] (expected [64])"), std::string::npos) << msg;
  }
}

// Checkpoint naming variants: GPT-2 without "transformer." plus mask buffers; nanoGPT compiled
// with "_orig_mod."; Zamba2's shared block stored once under another hybrid layer's name.
TEST(Checkpoint, FamilyNamingVariants) {
  TempDir tmp;
  const json gpt2 = {{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 50},
                     {"n_positions", 16}};
  io::NamedTensors w;
  for (auto& [name, t] : synthetic_weights(build_model(gpt2, "c"), 1, DType::F32))
    w.emplace_back(name.rfind("transformer.", 0) == 0 ? name.substr(12) : name, t);
  w.emplace_back("h.0.attn.bias", Tensor::zeros(DType::F32, {1, 1, 16, 16}));
  write_checkpoint(tmp / "gpt2", gpt2, w);
  EXPECT_NO_THROW(load_model(tmp / "gpt2"));

  const json nano = find_catalog("nanogpt-shakespeare-char")->config;
  w.clear();
  for (auto& [name, t] : synthetic_weights(build_model(nano, "c"), 1, DType::F32)) w.emplace_back("_orig_mod." + name, t);
  write_checkpoint(tmp / "nano", nano, w);
  EXPECT_EQ(analysis::count_params(load_model(tmp / "nano").model).total, 206'272u);

  json zamba = find_catalog("zamba2-1.2b")->config;
  zamba.update(json{{"hidden_size", 32}, {"num_attention_heads", 4}, {"num_key_value_heads", 4},
                    {"intermediate_size", 64}, {"adapter_rank", 4}, {"n_mamba_heads", 4}, {"mamba_d_state", 8},
                    {"vocab_size", 40}, {"num_hidden_layers", 12}, {"torch_dtype", "float32"}});
  zamba.erase("layers_block_type");
  zamba["hybrid_layer_ids"] = {2, 7};
  w.clear();
  for (auto& [name, t] : synthetic_weights(build_model(zamba, "c"), 1, DType::F32)) {
    const std::string shared = "model.layers.2.shared_transformer.";
    w.emplace_back(name.rfind(shared, 0) == 0 ? "model.layers.7.shared_transformer." + name.substr(shared.size()) : name, t);
  }
  write_checkpoint(tmp / "zamba", zamba, w);
  const auto lm = load_model(tmp / "zamba");
  EXPECT_EQ(analysis::count_params(lm.model).total, analysis::count_params(build_model(zamba, "c")).total);
}

}  // namespace
}  // namespace anatomy::models
