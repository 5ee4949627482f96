// The Llama-shaped decoder shared by llama, mistral, qwen2 and qwen3: pre-norm RMSNorm blocks
// of GQA attention with RoPE and a SwiGLU MLP (HF modeling_llama.py). Each family file passes
// its class-name prefix, its config defaults and its few differences.
#pragma once

#include <string>

#include "models/model.h"

namespace anatomy::models {

struct LlamaLikeDefaults {
  const char* prefix;         // "Llama" -> LlamaForCausalLM, LlamaAttention, ...
  const char* model_type;
  int64_t max_position_embeddings;
  double rms_norm_eps;
  bool qkv_bias_always = false;  // Qwen2: q/k/v always carry a bias
  bool qk_norm = false;          // Qwen3: per-head RMSNorm on q and k
  int64_t default_head_dim = 0;  // Qwen3: 128 when absent; 0 = hidden_size / heads
  // Which layers slide (transformers 5 masking: key j visible to query p iff j > p − window):
  // Mistral every layer whenever sliding_window is set (MistralConfig default 4096, null = none);
  // Qwen2/Qwen3 layers i ≥ max_window_layers, only with use_sliding_window. An explicit
  // layer_types list ("sliding_attention" / "full_attention") overrides both.
  enum class Sliding { none, all_layers, from_max_window_layers } sliding = Sliding::none;
  int64_t default_sliding_window = 4096;
  int64_t default_max_window_layers = 28;
};

Model build_llama_like(const ConfigReader& c, const LlamaLikeDefaults& d);

}  // namespace anatomy::models
