// Llama 2 / 3 / 3.1 / 3.2 (HF modeling_llama.py, LlamaConfig defaults), including the llama3
// rope_scaling. Everything else is the shared Llama-shaped decoder.
#include "models/families.h"
#include "models/llama_like.h"

namespace anatomy::models {
namespace {
Model build(const ConfigReader& c) {
  return build_llama_like(c, {.prefix = "Llama", .model_type = "llama",
                              .max_position_embeddings = 2048, .rms_norm_eps = 1e-6});
}
}  // namespace

const Family kLlama{"llama", "transformers LlamaConfig", build};

}  // namespace anatomy::models
