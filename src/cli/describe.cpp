// The words for the facts a family puts in its config summary (models/ states facts as codes and
// numbers; English lives here, where the report layer will choose the language).
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "analysis/params.h"
#include "cli/render.h"

namespace anatomy::cli {
namespace {

using Json = io::ordered_json;

std::string num(const Json& v) {
  if (v.is_number_float()) return fmt::format("{:g}", v.get<double>());
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string attention(const Json& a) {
  const std::string kind = a.value("kind", "");
  if (kind == "none") return "none";
  const int64_t h = a["heads"], kv = a["kv_heads"];
  std::string s = kind == "mha" ? fmt::format("MHA: {} heads", h)
                  : kind == "mqa" ? fmt::format("MQA: {} query heads share 1 KV head", h)
                                  : fmt::format("GQA: {} query heads share {} KV heads ({} per group)", h, kv, h / kv);
  static const std::map<std::string, std::string> kWords = {
      {"no_bias", "no bias"}, {"bias", "biases"}, {"qkv_bias", "q/k/v bias"}, {"qk_norm", "per-head q/k RMSNorm"},
      {"fused_qkv", "fused c_attn (q, k, v)"}, {"causal", "causal"}, {"no_position_encoding", "no positional encoding"},
      {"encoder_self", "encoder self"}, {"decoder_causal_self", "decoder causal self"}, {"decoder_cross", "cross"},
      {"mask_fill_minus_10000", "mask fill -10000"},
      {"input_concat_embeddings", "input concat(h, embeddings)"}, {"scale_half_head_dim", "scale (head_dim/2)^-0.5"},
      {"scale_inverse_layer_idx", "scores of layer i also divided by i + 1"}, {"sliding_window", "sliding window"}};
  for (const auto& f : a["features"]) {
    const auto it = kWords.find(f.get<std::string>());
    s += ", " + (it == kWords.end() ? f.get<std::string>() : it->second);
  }
  return s;
}

std::string ffn(const Json& f) {
  const std::string kind = f.value("kind", "");
  if (kind == "none") return "none";
  std::string s = kind == "gated" ? fmt::format("gated ({}): {}", f["activation"] == "silu" ? "SwiGLU" : "GLU", num(f["formula"]))
                                  : fmt::format("{}, not gated", num(f["formula"]));
  if (f.value("blocks", "") == "shared") s += ", in the shared block";
  if (f.value("blocks", "") == "own") s += ", own blocks (-)";
  return s;
}

std::string norm(const Json& n) {
  std::string s = fmt::format("{}{}, eps {}, {}-norm", n["kind"] == "rms_norm" ? "RMSNorm" : "LayerNorm",
                              n.value("names", "") == "gamma_beta" ? " (gamma, beta)" : "", num(n["eps"]),
                              num(n["placement"]));
  if (n.contains("bias") && n["kind"] == "layer_norm") s += n["bias"].get<bool>() ? ", with bias" : ", no bias";
  if (n.contains("mixer_gated_groups")) {
    const int64_t g = n["mixer_gated_groups"];
    s += fmt::format("; gated RMSNorm in the mixer ({} group{}", g, g == 1 ? "" : "s");
    if (n.contains("mixer_group_size")) s += fmt::format(" of {}", num(n["mixer_group_size"]));
    s += ")";
    if (n.value("differs_from_transformers", false))
      s += ", per group as mamba_ssm computes it (transformers' Mamba2 normalises the whole width)";
  }
  return s;
}

std::string rope(const Json& r) {
  if (r.value("kind", "") == "none") return "none";
  std::string s = fmt::format("rotate-half, theta {}", num(r["theta"]));
  const std::string scaling = r.value("scaling", "none");
  if (scaling == "llama3")
    return s + fmt::format(", llama3 scaling (factor {}, low_freq_factor {}, high_freq_factor {}, "
                           "original_max_position_embeddings {})",
                           num(r["factor"]), num(r["low_freq_factor"]), num(r["high_freq_factor"]),
                           num(r["original_max_position_embeddings"]));
  if (scaling == "linear") return s + fmt::format(", linear scaling (factor {})", num(r["factor"]));
  return s + ", no scaling";
}

std::string positions(const Json& p) {
  const std::string kind = p.value("kind", "");
  if (kind == "learned") return fmt::format("learned ({}), {} positions", num(p["table"]), num(p["positions"]));
  if (kind == "sinusoidal") return fmt::format("sinusoidal, fixed (not a parameter), max_len {}", num(p["positions"]));
  if (kind == "recurrence") return "none (positions come from the recurrence)";
  return kind;
}

std::string layer_counts(const Json& c, const std::string& model_type) {
  std::vector<std::string> parts;
  if (c.contains("mamba")) parts.push_back(fmt::format("{} Mamba{} (M)", num(c["mamba"]), model_type == "zamba2" ? "" : "2"));
  if (c.contains("attention")) parts.push_back(fmt::format("{} attention (*)", num(c["attention"])));
  if (c.contains("mlp")) parts.push_back(fmt::format("{} MLP (-)", num(c["mlp"])));
  if (c.contains("hybrid")) parts.push_back(fmt::format("{} hybrid (H: Mamba + shared transformer)", num(c["hybrid"])));
  return fmt::format("{}", fmt::join(parts, ", "));
}

std::string adapters(const Json& a) {
  if (a["rank"].get<int64_t>() == 0) return "none";
  std::vector<std::string> on;
  for (const auto& t : a["on"]) on.push_back(t.get<std::string>());
  // "q, k, v and gate_up_proj", "gate_up_proj", "q, k, v"
  std::string targets = on.size() > 1 ? fmt::format("{} and {}", fmt::join(on.begin(), on.end() - 1, ", "), on.back())
                                      : fmt::format("{}", fmt::join(on, ", "));
  return fmt::format("rank {} on {}, one set per hybrid application", num(a["rank"]), targets);
}

}  // namespace

std::string describe_config(const std::string& key, const std::string& model_type, const Json& v) {
  if (!v.is_object()) return num(v);
  if (key == "attention") return attention(v);
  if (key == "ffn") return ffn(v);
  if (key == "norm") return norm(v);
  if (key == "rope") return rope(v);
  if (key == "position_embedding") return positions(v);
  if (key == "layer_counts") return layer_counts(v, model_type);
  if (key == "adapters") return adapters(v);
  if (key == "sliding_window") {
    if (v["window"].get<int64_t>() == 0) return "none";
    std::vector<std::string> layers;
    for (const auto& i : v["layers"]) layers.push_back(std::to_string(i.get<int64_t>()));
    return fmt::format("{} positions on layers {} ({} of them; the KV cache keeps every position)", num(v["window"]),
                       analysis::index_ranges(layers), layers.size());
  }
  if (key == "time_step_limit")
    return v.contains("max") ? fmt::format("Δ clamped to [{}, {}]", num(v["min"]), num(v["max"]))
                             : fmt::format("Δ clamped to ≥ {}", num(v["min"]));
  if (key == "defaults_used") {
    if (v.empty()) return "none (the config states every field read)";
    std::vector<std::string> parts;
    for (const auto& [k, x] : v.items()) parts.push_back(k + " " + num(x));
    return fmt::format("{}", fmt::join(parts, ", "));
  }
  if (key == "shared_blocks") {
    const int64_t b = v["blocks"];
    if (v.value("copies", "shared") == "per_layer")
      return fmt::format("{} transformer block{} (adapters by application), each of the {} hybrid layers with its own copy "
                         "(untied embeddings: transformers 5 does not share them)", b, b == 1 ? "" : "s", num(v["applications"]));
    return fmt::format("{} shared transformer block{} applied {} times", b, b == 1 ? "" : "s", num(v["applications"]));
  }
  return v.dump();
}

std::string defaults_line(const Json& config) {
  if (!config.contains("defaults_used") || config["defaults_used"].empty()) return "";
  return fmt::format("config defaults used ({}): {}\n", config["defaults_from"].get<std::string>(),
                     describe_config("defaults_used", "", config["defaults_used"]));
}

}  // namespace anatomy::cli
