// Mistral (HF modeling_mistral.py): the Llama decoder with Mistral's defaults and an optional
// sliding attention window.
#include "models/families.h"
#include "models/llama_like.h"

namespace anatomy::models {
namespace {
Model build(const ConfigReader& c) {
  return build_llama_like(c, {.prefix = "Mistral", .model_type = "mistral",
                              .max_position_embeddings = 4096 * 32, .rms_norm_eps = 1e-6,
                              .sliding = LlamaLikeDefaults::Sliding::all_layers});
}
}  // namespace

const Family kMistral{"mistral", "transformers MistralConfig", build};

}  // namespace anatomy::models
