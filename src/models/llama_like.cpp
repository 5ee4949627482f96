#include "models/llama_like.h"

#include <fmt/format.h>

#include "nn/blocks.h"

namespace anatomy::models {
namespace {

// rope_theta and rope_scaling; validates the llama3 fields (§3.3). Scalings that change more
// than inv_freq (dynamic NTK, YaRN, LongRoPE) are refused rather than silently ignored.
nn::RopeSpec rope_spec(const ConfigReader& c, int64_t head_dim) {
  nn::RopeSpec r{.dim = head_dim, .theta = c.positive_or("rope_theta", 10000.0)};
  if (!c.has("rope_scaling")) return r;
  const json& j = c.raw()["rope_scaling"];
  if (!j.is_object()) c.error("rope_scaling", "is not an object");
  const ConfigReader rs(j, c.file() + ": rope_scaling");
  const std::string type = rs.string_or("rope_type", rs.string_or("type", "default"));
  if (type == "default") return r;
  if (type != "llama3" && type != "linear")
    rs.error("rope_type", "'" + type + "' is not supported (default, linear, llama3)");
  r.scaling = type;
  r.factor = rs.positive_or("factor", 0);
  if (type == "llama3") {
    r.low_freq_factor = rs.positive_or("low_freq_factor", 0);
    r.high_freq_factor = rs.positive_or("high_freq_factor", 0);
    r.original_max_position_embeddings = rs.count("original_max_position_embeddings");
    if (r.high_freq_factor <= r.low_freq_factor) rs.error("high_freq_factor", "must be greater than low_freq_factor");
  }
  return r;
}

std::string rope_description(const nn::RopeSpec& r) {
  std::string s = fmt::format("rotate-half, theta {:g}", r.theta);
  if (r.scaling == "llama3")
    return fmt::format("{}, llama3 scaling (factor {:g}, low_freq_factor {:g}, high_freq_factor {:g}, "
                       "original_max_position_embeddings {})", s, r.factor, r.low_freq_factor,
                       r.high_freq_factor, r.original_max_position_embeddings);
  if (r.scaling == "linear") return fmt::format("{}, linear scaling (factor {:g})", s, r.factor);
  return s + ", no scaling";
}

class CausalLM : public nn::LanguageModel {
 public:
  using nn::LanguageModel::LanguageModel;
  Tensor forward_ids(nn::Run& run, const Tensor& ids) const override {
    return nn::lm_forward(run, *this, {"model", "embed_tokens", "layers", "norm"}, ids);
  }
};

}  // namespace

Model build_llama_like(const ConfigReader& c, const LlamaLikeDefaults& d) {
  const std::string P = d.prefix;
  const int64_t hidden = c.count("hidden_size"), layers = c.layers("num_hidden_layers"),
                vocab = c.count("vocab_size"), inter = c.count("intermediate_size"),
                heads = c.count("num_attention_heads"),
                kv = c.count_or("num_key_value_heads", heads);
  int64_t head_dim = check_heads(c, "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim");
  if (!c.has("head_dim") && d.default_head_dim > 0) head_dim = d.default_head_dim;
  const double eps = c.positive_or("rms_norm_eps", d.rms_norm_eps);
  const bool tied = c.flag_or("tie_word_embeddings", false);
  const bool attn_bias = d.qkv_bias_always || c.flag_or("attention_bias", false);
  const bool mlp_bias = c.flag_or("mlp_bias", false);
  const auto act_name = c.string_or("hidden_act", "silu");
  const auto act = nn::activation_from_hf(act_name);
  const nn::RopeSpec rope = rope_spec(c, head_dim);

  auto root = std::make_shared<CausalLM>(P + "ForCausalLM");
  auto model = root->add("model", std::make_shared<nn::Module>(P + "Model"));
  auto embed = model->add("embed_tokens", std::make_shared<nn::Embedding>(vocab, hidden));
  auto list = model->add("layers", std::make_shared<nn::ModuleList>());
  const nn::AttentionSpec attn{.type = P + "Attention", .input_width = hidden, .output_width = hidden,
                               .heads = heads, .kv_heads = kv, .head_dim = head_dim, .qkv_bias = attn_bias,
                               .o_bias = c.flag_or("attention_bias", false),
                               .qk_norm_type = d.qk_norm ? P + "RMSNorm" : "", .norm_eps = eps,
                               .rope = rope};
  for (int64_t i = 0; i < layers; ++i) {
    auto layer = list->add(std::to_string(i), std::make_shared<nn::ResidualBlock>(
        P + "DecoderLayer", std::vector<std::pair<std::string, std::string>>{
                                {"input_layernorm", "self_attn"}, {"post_attention_layernorm", "mlp"}}));
    layer->add("self_attn", std::make_shared<nn::Attention>(attn));
    layer->add("mlp", std::make_shared<nn::GatedMLP>(P + "MLP", hidden, inter, act,
                                                      act == nn::Activation::silu ? "SiLU" : act_name, mlp_bias));
    layer->add("input_layernorm", std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
    layer->add("post_attention_layernorm", std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
  }
  model->add("norm", std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
  model->add("rotary_emb", std::make_shared<nn::Module>(P + "RotaryEmbedding"));
  auto head = root->add("lm_head", std::make_shared<nn::Linear>(hidden, vocab, false));
  head->cls = ops::OpClass::head;
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
      {"rope", rope_description(rope)},
      {"rope_theta", rope.theta},
      {"max_position_embeddings", c.count_or("max_position_embeddings", d.max_position_embeddings)},
      {"tie_word_embeddings", tied},
  };
  return m;
}

}  // namespace anatomy::models
