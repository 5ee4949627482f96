// Small configurations of the families with a forward pass: a few hundred parameters each, every
// structural feature kept (GQA, shared blocks with adapters, hybrid patterns).
#pragma once

#include <map>
#include <string>

#include "io/json.h"

namespace anatomy::test {

inline const std::map<std::string, io::json>& small_configs() {
  static const std::map<std::string, io::json> configs = {
      {"llama", {{"model_type", "llama"}, {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2},
                 {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 50}}},
      {"qwen3", {{"model_type", "qwen3"}, {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2},
                 {"num_attention_heads", 4}, {"num_key_value_heads", 1}, {"head_dim", 12}, {"vocab_size", 50}}},
      {"gpt2", {{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 50}, {"n_positions", 16}}},
      {"mamba2", {{"model_type", "mamba2"}, {"hidden_size", 32}, {"num_heads", 4}, {"head_dim", 16}, {"state_size", 8},
                  {"n_groups", 2}, {"num_hidden_layers", 2}, {"vocab_size", 50}}},
      {"nemotron_h", {{"model_type", "nemotron_h"}, {"hidden_size", 32}, {"num_hidden_layers", 3},
                      {"hybrid_override_pattern", "M*-"}, {"mamba_num_heads", 4}, {"mamba_head_dim", 16},
                      {"ssm_state_size", 8}, {"n_groups", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                      {"head_dim", 8}, {"intermediate_size", 48}, {"vocab_size", 50}}},
      {"zamba2", {{"model_type", "zamba2"}, {"hidden_size", 16}, {"num_hidden_layers", 3},
                  {"layers_block_type", {"mamba", "hybrid", "mamba"}}, {"num_attention_heads", 2},
                  {"n_mamba_heads", 2}, {"mamba_d_state", 4}, {"intermediate_size", 24}, {"adapter_rank", 2},
                  {"use_shared_attention_adapter", true}, {"use_shared_mlp_adapter", true}, {"use_mem_rope", true},
                  {"vocab_size", 50}}},
  };
  return configs;
}

}  // namespace anatomy::test
