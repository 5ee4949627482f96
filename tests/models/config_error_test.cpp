// Bad configs give one error naming the file and the field.
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/catalog.h"
#include "models/registry.h"

namespace anatomy::models {
namespace {

void expect_config_error(const json& config, const std::string& field) {
  try {
    build_model(config, "dir/config.json");
    FAIL() << "accepted a bad config (" << field << "): " << config.dump();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("dir/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
  }
}

json llama() {
  return {{"model_type", "llama"}, {"hidden_size", 64}, {"intermediate_size", 128}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 100}};
}

TEST(ConfigErrors, RequiredFields) {
  for (const char* field : {"hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size"}) {
    json c = llama();
    c.erase(field);
    expect_config_error(c, field);
  }
  expect_config_error(json::object(), "model_type");
  expect_config_error({{"model_type", "bert"}}, "model_type");
  expect_config_error(json::array(), "not a JSON object");
}

TEST(ConfigErrors, AbsurdValues) {
  for (const json& bad : {json(0), json(-3), json(2.5), json("12"), json(uint64_t{1} << 31)}) {
    json c = llama();
    c["num_hidden_layers"] = bad;
    expect_config_error(c, "num_hidden_layers");
  }
  json c = llama();
  c["vocab_size"] = uint64_t{1} << 31;
  expect_config_error(c, "vocab_size");
  c = llama();
  c["num_key_value_heads"] = 3;
  expect_config_error(c, "num_key_value_heads");
  c = llama();
  c["num_attention_heads"] = 5;
  c["num_key_value_heads"] = 5;
  expect_config_error(c, "num_attention_heads");
  c["head_dim"] = 16;  // an explicit head_dim lifts the divisibility rule
  EXPECT_NO_THROW(build_model(c, "dir/config.json"));
  c = llama();
  c["torch_dtype"] = "float7";
  expect_config_error(c, "torch_dtype");
  c = llama();
  c["rms_norm_eps"] = -1;
  expect_config_error(c, "rms_norm_eps");
  // Each size below 2^31 but too many layers, or sizes whose product is absurd: refused before
  // a tree of billions of modules or an overflowing count is built.
  c = llama();
  c["num_hidden_layers"] = 4097;
  expect_config_error(c, "num_hidden_layers");
  expect_config_error({{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 4097}, {"n_head", 4}, {"vocab_size", 50}}, "n_layer");
  expect_config_error({{"model_type", "mamba2"}, {"hidden_size", 32}, {"num_heads", 4}, {"head_dim", 16}, {"state_size", 8},
                       {"n_groups", 2}, {"num_hidden_layers", 1 << 20}, {"vocab_size", 50}}, "num_hidden_layers");
  c = llama();
  c["hidden_size"] = (1 << 30);
  c["intermediate_size"] = (1 << 30);
  c["num_attention_heads"] = 1 << 20;
  c["num_key_value_heads"] = 1 << 20;
  expect_config_error(c, "2^50 parameters");
}

TEST(ConfigErrors, HybridPatterns) {
  json n = find_catalog("nemotron-nano-9b-v2")->config;
  n["hybrid_override_pattern"] = "M-M";
  expect_config_error(n, "hybrid_override_pattern");
  n["hybrid_override_pattern"] = std::string(56, 'X');
  expect_config_error(n, "hybrid_override_pattern");
  n.erase("hybrid_override_pattern");
  expect_config_error(n, "hybrid_override_pattern");
  n["layers_block_type"] = json::array();
  for (int i = 0; i < 56; ++i) n["layers_block_type"].push_back(i % 2 ? "mlp" : "mamba");
  EXPECT_NO_THROW(build_model(n, "dir/config.json")) << "the list spelling is accepted";

  json z = find_catalog("zamba2-1.2b")->config;
  z.erase("layers_block_type");
  z.erase("hybrid_layer_ids");
  expect_config_error(z, "layers_block_type");
  z["hybrid_layer_ids"] = {5, 99};
  expect_config_error(z, "hybrid_layer_ids");
}

TEST(ConfigErrors, MambaSsmFormat) {
  json m = find_catalog("mamba2-130m")->config;
  m["ssm_cfg"]["layer"] = "Mamba1";
  expect_config_error(m, "layer");
  m = find_catalog("mamba2-130m")->config;
  m["attn_layer_idx"] = {3};
  expect_config_error(m, "attn_layer_idx");
}

}  // namespace
}  // namespace anatomy::models
