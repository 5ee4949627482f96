// A built model: its module tree plus the typed config summary that `inspect` shows, and the
// reader every family uses to turn config.json into a typed config with HF's defaults.
#pragma once

#include <memory>
#include <string>

#include "core/dtype.h"
#include "io/json.h"
#include "nn/module.h"
#include "nn/rope.h"

namespace anatomy::models {

using io::json;
using io::ordered_json;

struct Model {
  std::string architecture;  // Hugging Face class (or original repo class): "LlamaForCausalLM"
  std::string model_type;    // registry key: "llama"
  std::shared_ptr<nn::LanguageModel> root;
  // Every field and derived value the family knows; never null. Facts are numbers and codes, never
  // sentences: structured fields (attention, ffn, norm, rope, position_embedding, layer_counts,
  // shared_blocks, adapters) are objects that the renderers turn into words (docs/inspect.md).
  ordered_json config;
  DType dtype = DType::F32;  // the config's torch_dtype (F32 when absent)
};

// Reads typed values from a config.json; every error names the file and the field.
class ConfigReader {
 public:
  ConfigReader(const json& j, std::string file) : j_(j), file_(std::move(file)) {}
  const json& raw() const { return j_; }
  const std::string& file() const { return file_; }
  bool has(const std::string& key) const;  // present and not null

  // A size or count: an integer in [1, 2^31).
  int64_t count(const std::string& key) const;
  // A layer count: [1, kMaxLayers] (every layer is a subtree of modules, so 2^31 would exhaust memory).
  static constexpr int64_t kMaxLayers = 4096;
  int64_t layers(const std::string& key) const;
  int64_t count_or(const std::string& key, int64_t fallback) const;
  // A non-negative integer in [0, 2^31) (e.g. ids, optional widths).
  int64_t index_or(const std::string& key, int64_t fallback) const;
  double number_or(const std::string& key, double fallback) const;
  double positive_or(const std::string& key, double fallback) const;
  bool flag_or(const std::string& key, bool fallback) const;
  std::string string_or(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> index_list(const std::string& key) const;  // empty when absent

  [[noreturn]] void error(const std::string& key, const std::string& message) const;

  // Every field read with a fallback that the config does not set, with the value used.
  const ordered_json& defaults_used() const { return *defaults_; }

 private:
  const json& value(const std::string& key) const;
  template <class T>
  T fallback(const std::string& key, T value) const {
    if (!defaults_->contains(key)) (*defaults_)[key] = value;
    return value;
  }
  const json& j_;
  std::string file_;
  std::shared_ptr<ordered_json> defaults_ = std::make_shared<ordered_json>(ordered_json::object());
};

// Checks shared by every attention family: heads divide into KV groups and the hidden size
// (when no head_dim is given). Returns the head dim.
int64_t check_heads(const ConfigReader& c, const char* hidden_key, const char* heads_key,
                    const char* kv_key, const char* head_dim_key);

// RoPE from either spelling: rope_theta + rope_scaling (transformers 4) or rope_parameters
// (transformers 5). A config carrying both with different values is refused, naming the fields;
// scalings that change more than the frequencies (dynamic NTK, YaRN, LongRoPE) are refused.
nn::RopeSpec read_rope(const ConfigReader& c, int64_t dim, double default_theta);
// {"kind": "rotate_half", "theta", "scaling", and the scaling's fields}, or {"kind": "none"}.
ordered_json rope_facts(const nn::RopeSpec& rope);

// {"kind": "gqa"|"mha"|"mqa", "heads", "kv_heads", "features": [codes]} (docs/inspect.md lists the
// feature codes: qkv_bias, bias, no_bias, qk_norm, fused_qkv, causal, ...).
ordered_json attention_facts(int64_t heads, int64_t kv_heads, std::vector<std::string> features);
// {"kind": "rms_norm"|"layer_norm", "eps", "placement": "pre"|"post"} plus `extra` fields.
ordered_json norm_facts(const char* kind, double eps, const char* placement, ordered_json extra = ordered_json::object());
// {"kind": "gated"|"plain", "activation", "formula"} plus `extra` fields.
ordered_json ffn_facts(const char* kind, const std::string& activation, const std::string& formula,
                       ordered_json extra = ordered_json::object());

}  // namespace anatomy::models
