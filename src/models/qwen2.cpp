// Qwen2 (HF modeling_qwen2.py): the Llama decoder with a bias on q, k and v (not o).
#include "models/families.h"
#include "models/llama_like.h"

namespace anatomy::models {
namespace {
Model build(const ConfigReader& c) {
  return build_llama_like(c, {.prefix = "Qwen2", .model_type = "qwen2",
                              .max_position_embeddings = 32768, .rms_norm_eps = 1e-6,
                              .qkv_bias_always = true,
                              .sliding = LlamaLikeDefaults::Sliding::from_max_window_layers});
}
}  // namespace

const Family kQwen2{"qwen2", "transformers Qwen2Config", build};

}  // namespace anatomy::models
