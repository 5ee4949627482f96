// Configs as transformers 5 writes and reads them (ARCHITECTURES.md §13): both RoPE spellings,
// sliding windows per layer, the hybrids' defaults and fixed choices, and the refusals, each one
// line naming the file and the field. Logits are checked against PyTorch in tests/golden.
#include <gtest/gtest.h>

#include "analysis/params.h"
#include "core/error.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "nn/blocks.h"

namespace anatomy::models {
namespace {

const json kLlama = {{"model_type", "llama"}, {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2},
                     {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 50}};

void expect_config_error(const json& config, const std::string& field) {
  try {
    build_model(config, "c.json");
    ADD_FAILURE() << "accepted: " << config.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config) << e.what();
    EXPECT_NE(std::string(e.what()).find("c.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

std::vector<float> logits(const json& config, const std::vector<int64_t>& ids) {
  Model m = build_model(config, "c.json");
  const auto weights = synthetic_weights(m, 5, DType::F32, 0.2f);
  bind_weights(m, weights);
  const ops::Context ctx(backend::cpu());
  nn::State state(1, static_cast<int64_t>(ids.size()));
  nn::Run run(ctx, state);
  Tensor in = Tensor::empty(DType::I64, {1, static_cast<int64_t>(ids.size())});
  std::copy(ids.begin(), ids.end(), in.data<int64_t>());
  const Tensor out = m.root->forward_ids(run, in);
  return {out.data<float>(), out.data<float>() + out.numel()};
}

TEST(ConfigSemantics, RopeParametersEqualTheOldSpelling) {
  const json scaling = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}, {"high_freq_factor", 4.0},
                        {"original_max_position_embeddings", 16}};
  json old_form = kLlama, new_form = kLlama;
  old_form["rope_theta"] = 500000.0;
  old_form["rope_scaling"] = scaling;
  json params = scaling;
  params["rope_theta"] = 500000.0;
  new_form["rope_parameters"] = params;
  const std::vector<int64_t> ids{3, 9, 27, 1, 44, 12, 7, 30};
  EXPECT_EQ(logits(old_form, ids), logits(new_form, ids));
  EXPECT_NE(logits(kLlama, ids), logits(new_form, ids)) << "theta 500000 with llama3 scaling changes the logits";
  EXPECT_EQ(build_model(new_form, "c.json").config["rope"]["theta"], 500000.0);
  json theta_only_old = kLlama, theta_only_new = kLlama;
  theta_only_old["rope_theta"] = 1000.0;
  theta_only_new["rope_parameters"] = {{"rope_theta", 1000.0}, {"rope_type", "default"}};
  EXPECT_EQ(logits(theta_only_old, ids), logits(theta_only_new, ids));

  json both = new_form;
  both["rope_theta"] = 500000.0;  // the same value in both places: accepted
  EXPECT_NO_THROW(build_model(both, "c.json"));
  both["rope_theta"] = 10000.0;
  expect_config_error(both, "rope_parameters");
  json yarn = kLlama;
  yarn["rope_parameters"] = {{"rope_theta", 10000.0}, {"rope_type", "yarn"}, {"factor", 4.0}};
  expect_config_error(yarn, "rope_type");
}

int64_t window_of(const Model& m, int layer) {
  const auto& layers = *m.root->find_child("model")->find_child("layers");
  const auto& attn = static_cast<const nn::Attention&>(*layers.find_child(std::to_string(layer))->find_child("self_attn"));
  return attn.spec.sliding_window;
}

TEST(ConfigSemantics, SlidingWindowsPerLayer) {
  json mistral = kLlama;
  mistral["model_type"] = "mistral";
  EXPECT_EQ(window_of(build_model(mistral, "c.json"), 0), 4096) << "MistralConfig's default";
  mistral["sliding_window"] = nullptr;
  EXPECT_EQ(window_of(build_model(mistral, "c.json"), 1), 0);
  mistral["sliding_window"] = 8;
  const Model m = build_model(mistral, "c.json");
  EXPECT_EQ(window_of(m, 0), 8);
  EXPECT_EQ(m.config["sliding_window"]["window"], 8);

  json qwen2 = kLlama;
  qwen2["model_type"] = "qwen2";
  qwen2["sliding_window"] = 8;
  EXPECT_EQ(build_model(qwen2, "c.json").config["sliding_window"]["window"], 0) << "no layer slides without use_sliding_window";
  qwen2["use_sliding_window"] = true;
  qwen2["max_window_layers"] = 1;
  const Model q = build_model(qwen2, "c.json");
  EXPECT_EQ(window_of(q, 0), 0);
  EXPECT_EQ(window_of(q, 1), 8);
  EXPECT_EQ(q.config["sliding_window"]["layers"].dump(), "[1]");

  json typed = kLlama;
  typed["model_type"] = "qwen3";
  typed["sliding_window"] = 5;
  typed["layer_types"] = {"sliding_attention", "full_attention"};
  EXPECT_EQ(window_of(build_model(typed, "c.json"), 0), 5);
  typed["layer_types"] = {"sliding_attention"};
  expect_config_error(typed, "layer_types");
}

const json kNemotron = {{"model_type", "nemotron_h"}, {"hidden_size", 64}, {"num_hidden_layers", 3},
                        {"hybrid_override_pattern", "M*-"}, {"mamba_num_heads", 8}, {"mamba_head_dim", 16},
                        {"ssm_state_size", 16}, {"n_groups", 2}, {"num_attention_heads", 4},
                        {"num_key_value_heads", 2}, {"intermediate_size", 96}, {"vocab_size", 97}};

TEST(ConfigSemantics, NemotronHDefaultsAndFixedChoices) {
  json c = kNemotron;
  c["tie_word_embeddings"] = true;  // never tied in transformers
  c["attention_bias"] = true;       // never a bias on the attention projections
  c["use_bias"] = true;             // the Mamba in/out projection biases
  const Model m = build_model(c, "c.json");
  EXPECT_EQ(m.config["head_dim"], 128) << "NemotronHConfig's default, not hidden / heads";
  EXPECT_EQ(m.config["tie_word_embeddings"], false);
  EXPECT_EQ(m.config["time_step_min"], 0.001);
  bool mamba_bias = false, attention_bias = false;
  for (const auto& ref : nn::parameter_slots(*m.root)) {
    mamba_bias |= ref.path == "backbone.layers.0.mixer.in_proj.bias";
    attention_bias |= ref.path.find("mixer.q_proj.bias") != std::string::npos;
  }
  EXPECT_TRUE(mamba_bias);
  EXPECT_FALSE(attention_bias);
  const auto r = analysis::count_params(m);
  EXPECT_EQ(r.total_with_tied, r.total) << "no tied head";
  // The older spellings: attention_head_dim for head_dim, mamba_proj_bias for use_bias.
  json old = kNemotron;
  old["attention_head_dim"] = 32;
  old["mamba_proj_bias"] = true;
  const Model o = build_model(old, "c.json");
  EXPECT_EQ(o.config["head_dim"], 32);
  bool old_bias = false;
  for (const auto& ref : nn::parameter_slots(*o.root)) old_bias |= ref.path == "backbone.layers.0.mixer.out_proj.bias";
  EXPECT_TRUE(old_bias);
}

const json kZamba2 = {{"model_type", "zamba2"}, {"hidden_size", 32}, {"num_hidden_layers", 3},
                      {"layers_block_type", {"mamba", "hybrid", "linear_attention"}}, {"num_attention_heads", 4},
                      {"n_mamba_heads", 4}, {"mamba_d_state", 8}, {"intermediate_size", 48}, {"adapter_rank", 4},
                      {"vocab_size", 50}};

TEST(ConfigSemantics, Zamba2AdaptersAndNames) {
  // transformers 5.17 saves the Mamba layers as linear_attention (seen on the GPU machine: its
  // save_pretrained of Zamba2-1.2B read with linear_attention = hybrid made every layer hybrid).
  const Model m = build_model(kZamba2, "c.json");
  EXPECT_EQ(m.config["layer_pattern"], "MHM");
  EXPECT_EQ(m.config["adapters"]["on"].dump(), R"(["gate_up_proj"])") << "the shared MLP always has adapters";
  json gqa = kZamba2;
  gqa["num_key_value_heads"] = 2;
  gqa["use_shared_attention_adapter"] = true;
  expect_config_error(gqa, "num_key_value_heads");
  gqa["use_shared_attention_adapter"] = false;
  EXPECT_NO_THROW(build_model(gqa, "c.json"));
}

// With untied embeddings transformers 5 gives every hybrid layer its own copy of the block.
TEST(ConfigSemantics, Zamba2UntiedCopiesArePerLayer) {
  json c = kZamba2;
  c["layers_block_type"] = {"hybrid", "mamba", "hybrid"};
  const Model tied = build_model(c, "c.json");
  c["tie_word_embeddings"] = false;
  const Model untied = build_model(c, "c.json");
  const auto block = [](const Model& m, int layer) {
    return m.root->find_child("model")->find_child("layers")->find_child(std::to_string(layer))->find_child("shared_transformer").get();
  };
  EXPECT_EQ(block(tied, 0), block(tied, 2));
  EXPECT_NE(block(untied, 0), block(untied, 2));
  EXPECT_EQ(untied.config["shared_blocks"]["copies"], "per_layer");
  const auto a = analysis::count_params(tied), b = analysis::count_params(untied);
  const uint64_t embed = 50 * 32;
  uint64_t one_block = 0;
  for (const auto& ref : nn::parameter_slots(*block(untied, 2))) one_block += ref.param->value.numel();
  EXPECT_EQ(b.total, a.total + embed + one_block) << "an untied head and a second copy of the block";
}

TEST(ConfigSemantics, Mamba2ActivationAndTimeStepLimit) {
  json c = {{"model_type", "mamba2"}, {"hidden_size", 64}, {"num_heads", 8}, {"head_dim", 16}, {"state_size", 16},
            {"n_groups", 2}, {"num_hidden_layers", 1}, {"vocab_size", 50}, {"hidden_act", "relu"},
            {"time_step_limit", {0.01, 0.5}}};
  const Model m = build_model(c, "c.json");
  EXPECT_EQ(m.config["conv_activation"], "relu");
  EXPECT_TRUE(m.config["norm"]["differs_from_transformers"].get<bool>()) << "2 groups: mamba_ssm's per-group norm";
  EXPECT_EQ(m.config["time_step_limit"]["max"], 0.5);
  c["time_step_limit"] = {0.5, 0.1};
  expect_config_error(c, "time_step_limit");
}

TEST(ConfigSemantics, Gpt2InverseLayerScale) {
  json c = {{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 50},
            {"scale_attn_by_inverse_layer_idx", true}, {"reorder_and_upcast_attn", true}};
  const Model m = build_model(c, "c.json");
  const auto& block = *m.root->find_child("transformer")->find_child("h")->find_child("1");
  EXPECT_EQ(static_cast<const nn::FusedQkvAttention&>(*block.find_child("attn")).score_divisor, 2.0);
  c["scale_attn_by_inverse_layer_idx"] = "yes";
  expect_config_error(c, "scale_attn_by_inverse_layer_idx");
}

}  // namespace
}  // namespace anatomy::models
