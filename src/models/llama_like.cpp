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

ordered_json rope_facts(const nn::RopeSpec& r) {
  ordered_json j = {{"kind", "rotate_half"}, {"theta", r.theta}, {"scaling", r.scaling}};
  if (r.scaling == "linear") j["factor"] = r.factor;
  if (r.scaling == "llama3")
    j.update(ordered_json{{"factor", r.factor}, {"low_freq_factor", r.low_freq_factor},
                          {"high_freq_factor", r.high_freq_factor},
                          {"original_max_position_embeddings", r.original_max_position_embeddings}});
  return j;
}

std::vector<std::string> attention_features(bool qkv_bias, bool o_bias, bool qk_norm) {
  std::vector<std::string> f{qkv_bias && o_bias ? "bias" : qkv_bias ? "qkv_bias" : "no_bias"};
  if (qk_norm) f.push_back("qk_norm");
  return f;
}

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

  const int64_t max_positions = c.count_or("max_position_embeddings", d.max_position_embeddings);
  auto root = std::make_shared<nn::CausalLM>(P + "ForCausalLM", "model", vocab, max_positions, "max_position_embeddings");
  auto model = root->base.set(std::make_shared<nn::DecoderStack>(P + "Model", "embed_tokens", "layers", "norm"));
  auto embed = model->embed.set(std::make_shared<nn::Embedding>(vocab, hidden));
  auto list = model->layers.set(std::make_shared<nn::ModuleList<>>());
  const nn::AttentionSpec attn{.type = P + "Attention", .input_width = hidden, .output_width = hidden,
                               .heads = heads, .kv_heads = kv, .head_dim = head_dim, .qkv_bias = attn_bias,
                               .o_bias = c.flag_or("attention_bias", false),
                               .qk_norm_type = d.qk_norm ? P + "RMSNorm" : "", .norm_eps = eps,
                               .rope = rope};
  for (int64_t i = 0; i < layers; ++i) {
    auto layer = list->append(std::make_shared<nn::ResidualBlock>(P + "DecoderLayer"));
    auto& self_attn = layer->sublayer("input_layernorm", "self_attn");
    auto& mlp = layer->sublayer("post_attention_layernorm", "mlp");
    self_attn.mixer.set(std::make_shared<nn::Attention>(attn));
    mlp.mixer.set(std::make_shared<nn::GatedMLP>(P + "MLP", hidden, inter, act,
                                                 act == Activation::silu ? "SiLU" : act_name, mlp_bias));
    self_attn.norm.set(std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
    mlp.norm.set(std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
  }
  model->norm.set(std::make_shared<nn::RMSNorm>(hidden, eps, P + "RMSNorm"));
  model->register_child("rotary_emb", std::make_shared<nn::Module>(P + "RotaryEmbedding"));  // no parameters
  auto head = root->lm_head.set(std::make_shared<nn::Linear>(hidden, vocab, false));
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
      {"attention", attention_facts(heads, kv, attention_features(attn_bias, c.flag_or("attention_bias", false), d.qk_norm))},
      {"attention_width", heads * head_dim},
      {"ffn", ffn_facts("gated", act_name, fmt::format("down_proj({}(gate_proj(x)) * up_proj(x))", act_name),
                        {{"bias", mlp_bias}})},
      {"intermediate_size", inter},
      {"hidden_act", act_name},
      {"norm", norm_facts("rms_norm", eps, "pre")},
      {"rms_norm_eps", eps},
      {"rope", rope_facts(rope)},
      {"rope_theta", rope.theta},
      {"max_position_embeddings", max_positions},
      {"tie_word_embeddings", tied},
  };
  return m;
}

}  // namespace anatomy::models
