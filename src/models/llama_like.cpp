#include "models/llama_like.h"

#include <fmt/format.h>

#include "nn/blocks.h"

namespace anatomy::models {
namespace {

// rope_scaling as one readable line; validates the llama3 fields (§3.3).
std::string rope_description(const ConfigReader& c, double theta) {
  std::string s = fmt::format("rotate-half, theta {:g}", theta);
  if (!c.has("rope_scaling")) return s + ", no scaling";
  const json& r = c.raw()["rope_scaling"];
  if (!r.is_object()) c.error("rope_scaling", "is not an object");
  const ConfigReader rs(r, c.file() + ": rope_scaling");
  const std::string type = rs.string_or("rope_type", rs.string_or("type", "default"));
  if (type == "llama3") {
    const double factor = rs.positive_or("factor", 0), lo = rs.positive_or("low_freq_factor", 0),
                 hi = rs.positive_or("high_freq_factor", 0);
    const int64_t orig = rs.count("original_max_position_embeddings");
    if (hi <= lo) rs.error("high_freq_factor", "must be greater than low_freq_factor");
    return fmt::format("{}, llama3 scaling (factor {:g}, low_freq_factor {:g}, high_freq_factor {:g}, "
                       "original_max_position_embeddings {})", s, factor, lo, hi, orig);
  }
  if (type == "default") return s + ", no scaling";
  return fmt::format("{}, {} scaling (factor {:g})", s, type, rs.positive_or("factor", 1));
}

}  // namespace

Model build_llama_like(const ConfigReader& c, const LlamaLikeDefaults& d) {
  const std::string P = d.prefix;
  const int64_t hidden = c.count("hidden_size"), layers = c.count("num_hidden_layers"),
                vocab = c.count("vocab_size"), inter = c.count("intermediate_size"),
                heads = c.count("num_attention_heads"),
                kv = c.count_or("num_key_value_heads", heads);
  int64_t head_dim = check_heads(c, "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim");
  if (!c.has("head_dim") && d.default_head_dim > 0) head_dim = d.default_head_dim;
  const double eps = c.positive_or("rms_norm_eps", d.rms_norm_eps);
  const double theta = c.positive_or("rope_theta", 10000.0);
  const bool tied = c.flag_or("tie_word_embeddings", false);
  const bool attn_bias = d.qkv_bias_always || c.flag_or("attention_bias", false);
  const bool mlp_bias = c.flag_or("mlp_bias", false);
  const auto act_name = c.string_or("hidden_act", "silu");
  const auto act = nn::activation_from_hf(act_name);
  const std::string rope = rope_description(c, theta);

  auto root = std::make_shared<nn::Module>(P + "ForCausalLM");
  auto model = root->add("model", std::make_shared<nn::Module>(P + "Model"));
  auto embed = model->add("embed_tokens", std::make_shared<nn::Embedding>(vocab, hidden));
  auto list = model->add("layers", std::make_shared<nn::ModuleList>());
  const nn::AttentionSpec attn{.type = P + "Attention", .input_width = hidden, .output_width = hidden,
                               .heads = heads, .kv_heads = kv, .head_dim = head_dim, .qkv_bias = attn_bias,
                               .o_bias = c.flag_or("attention_bias", false),
                               .qk_norm_type = d.qk_norm ? P + "RMSNorm" : "", .norm_eps = eps};
  for (int64_t i = 0; i < layers; ++i) {
    auto layer = list->add(std::to_string(i), std::make_shared<nn::Module>(P + "DecoderLayer"));
    layer->add("self_attn", std::make_shared<nn::Attention>(attn));
    layer->add("mlp", std::make_shared<nn::GatedMLP>(P + "MLP", hidden, inter, act,
                                                      act == nn::Activation::silu ? "SiLU" : act_name, mlp_bias));
    layer->add("input_layernorm", std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
    layer->add("post_attention_layernorm", std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
  }
  model->add("norm", std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
  model->add("rotary_emb", std::make_shared<nn::Module>(P + "RotaryEmbedding"));
  auto head = root->add("lm_head", std::make_shared<nn::Linear>(hidden, vocab, false));
  if (tied) head->tie_weight(embed->weight);

  Model m;
  m.architecture = P + "ForCausalLM";
  m.model_type = d.model_type;
  m.root = root;
  m.config = {
      {"hidden_size", hidden},
      {"num_hidden_layers", layers},
      {"vocab_size", vocab},
      {"num_attention_heads", heads},
      {"num_key_value_heads", kv},
      {"head_dim", head_dim},
      {"gqa_ratio", heads / kv},
      {"attention", attention_kind(heads, kv) + (attn_bias ? ", q/k/v bias" : ", no bias") +
                        (d.qk_norm ? ", per-head q/k RMSNorm" : "")},
      {"attention_width", heads * head_dim},
      {"ffn", fmt::format("gated ({}): down_proj({}(gate_proj(x)) * up_proj(x))",
                          act == nn::Activation::silu ? "SwiGLU" : "GLU", act_name)},
      {"intermediate_size", inter},
      {"hidden_act", act_name},
      {"norm", fmt::format("RMSNorm, eps {:g}, pre-norm", eps)},
      {"rms_norm_eps", eps},
      {"rope", rope},
      {"rope_theta", theta},
      {"max_position_embeddings", c.count_or("max_position_embeddings", d.max_position_embeddings)},
      {"tie_word_embeddings", tied},
  };
  return m;
}

}  // namespace anatomy::models
