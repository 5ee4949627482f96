// Qwen3 (HF modeling_qwen3.py): the Llama decoder with per-head RMSNorm on q and k and an
// explicit head_dim (default 128, independent of hidden_size).
#include "models/families.h"
#include "models/llama_like.h"

namespace anatomy::models {
namespace {
Model build(const ConfigReader& c) {
  return build_llama_like(c, {.prefix = "Qwen3", .model_type = "qwen3",
                              .max_position_embeddings = 32768, .rms_norm_eps = 1e-6,
                              .qk_norm = true, .default_head_dim = 128,
                              .sliding = LlamaLikeDefaults::Sliding::from_max_window_layers});
}
}  // namespace

const Family kQwen3{"qwen3", "transformers Qwen3Config", build};

}  // namespace anatomy::models
