#include "models/gguf_export.h"

#include <set>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "tokenizer/gguf_vocab.h"

namespace anatomy::models {

void export_gguf(const Model& model, const std::string& path, const tokenizer::Tokenizer* tok) {
  const std::string arch = io::gguf_arch_for(model.model_type);
  io::GgufWriter w;
  const auto slots = nn::parameter_slots(*model.root);
  const int64_t vocab = slots.front().param->value.dim(0);  // the embedding comes first in every family
  io::write_gguf_metadata(w, arch, model.config, vocab);
  if (tok) tokenizer::write_gguf_vocab(w, *tok, vocab);
  else io::write_placeholder_vocab(w, vocab);
  const auto cfg = [&](const char* key) { return model.config.contains(key) ? model.config[key].get<int64_t>() : 1; };
  std::set<const nn::Parameter*> done;
  for (const auto& ref : slots) {
    if (!done.insert(ref.param.get()).second) continue;  // tied: GGUF ties by omitting output.weight
    if (ref.param->value.is_meta()) fail(ErrorKind::internal, "export_gguf: " + ref.path + " has no data");
    const auto g = io::hf_to_gguf_name(arch, ref.path);
    if (!g) fail(ErrorKind::unsupported, "GGUF export: no GGUF name for " + ref.path);
    const bool is_k = ref.path.find("k_proj") != std::string::npos;
    w.add_tensor(g->first, io::to_gguf_layout(g->first, ref.param->value, g->second,
                                              cfg(is_k ? "num_key_value_heads" : "num_attention_heads"), cfg("ssm_groups")));
  }
  w.write(path);
}

}  // namespace anatomy::models
