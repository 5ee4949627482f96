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
};

Model build_llama_like(const ConfigReader& c, const LlamaLikeDefaults& d);

}  // namespace anatomy::models
