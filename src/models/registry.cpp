#include "models/registry.h"

#include <set>

#include "core/error.h"
#include "models/families.h"
#include "nn/module.h"

namespace anatomy::models {

const std::vector<Family>& families() {
  static const std::vector<Family> table = {
      kLlama, kMistral, kQwen2, kQwen3, kGpt2, kNanoGpt, kTransformerEncDec, kMamba2, kNemotronH, kZamba2,
  };
  return table;
}

const Family& family_for(const ConfigReader& c) {
  if (!c.raw().is_object()) fail_at(ErrorKind::config, c.file(), "", "config is not a JSON object");
  if (!c.has("model_type")) {
    for (const auto& f : families())
      if (f.claims_untyped && f.claims_untyped(c.raw())) return f;
    c.error("model_type", "required field is missing (and the file is not a mamba_ssm or nanoGPT config)");
  }
  const std::string type = c.string_or("model_type", "");
  std::string known;
  for (const auto& f : families()) {
    if (type == f.model_type) return f;
    known += known.empty() ? f.model_type : std::string(", ") + f.model_type;
  }
  fail_at(ErrorKind::unsupported, c.file(), "model_type", "'" + type + "' is not supported (" + known + ")");
}

const Family& family_named(const std::string& model_type) {
  for (const auto& f : families())
    if (model_type == f.model_type) return f;
  fail(ErrorKind::internal, "no registered family '" + model_type + "'");
}

namespace {

// Every size is below 2^31 on its own; their products are bounded here so that no count or byte
// total downstream can overflow (2^50 parameters is a thousand times the largest model today).
void check_size(const Model& m, const std::string& file) {
  constexpr uint64_t kMaxParams = uint64_t{1} << 50;
  uint64_t total = 0;
  std::set<const nn::Parameter*> seen;
  for (const auto& ref : nn::parameter_slots(*m.root))
    if (seen.insert(ref.param.get()).second) {
      total += ref.param->value.numel();
      if (ref.param->value.numel() > kMaxParams || total > kMaxParams)
        fail_at(ErrorKind::config, file, ref.path, "the sizes multiply to more than 2^50 parameters: absurd");
    }
}

}  // namespace

Model build_model(const json& config, const std::string& file) {
  const ConfigReader c(config, file);
  const Family& family = family_for(c);
  Model m = family.build(c);
  m.dtype = DType::F32;
  if (c.has("torch_dtype")) {
    const auto name = c.string_or("torch_dtype", "float32");
    const auto dtype = dtype_from_string(name);
    if (!dtype || is_quantized(*dtype)) c.error("torch_dtype", "unknown dtype '" + name + "'");
    m.dtype = *dtype;
  }
  nn::set_param_dtype(*m.root, m.dtype);
  check_size(m, file);
  // Which values the config did not state, and whose defaults filled them in.
  m.config["defaults_used"] = c.defaults_used();
  m.config["defaults_from"] = family.defaults_from;
  return m;
}

}  // namespace anatomy::models
