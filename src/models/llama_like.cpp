#include "models/llama_like.h"

#include <fmt/format.h>

#include "nn/blocks.h"

namespace anatomy::models {
namespace {

std::vector<std::string> attention_features(bool qkv_bias, bool o_bias, bool qk_norm) {
  std::vector<std::string> f{qkv_bias && o_bias ? "bias" : qkv_bias ? "qkv_bias" : "no_bias"};
  if (qk_norm) f.push_back("qk_norm");
  return f;
}

// The sliding window of each layer (0 = full attention).
std::vector<int64_t> layer_windows(const ConfigReader& c, const LlamaLikeDefaults& d, int64_t layers) {
  using S = LlamaLikeDefaults::Sliding;
  std::vector<int64_t> w(static_cast<size_t>(layers), 0);
  const bool window_set = c.raw().contains("sliding_window") ? !c.raw()["sliding_window"].is_null() : d.sliding != S::none;
  const int64_t window = window_set ? c.count_or("sliding_window", d.default_sliding_window) : 0;
  if (c.has("layer_types")) {
    const json& types = c.raw()["layer_types"];
    if (!types.is_array() || static_cast<int64_t>(types.size()) != layers)
      c.error("layer_types", fmt::format("is not a list of {} layer types", layers));
    for (int64_t i = 0; i < layers; ++i) {
      const json& t = types[static_cast<size_t>(i)];
      if (t == "sliding_attention") {
        if (!window) c.error("layer_types", "layer " + std::to_string(i) + " slides but sliding_window is not set");
        w[static_cast<size_t>(i)] = window;
      } else if (t != "full_attention") {
        c.error("layer_types", "unknown layer type " + t.dump() + " (full_attention, sliding_attention)");
      }
    }
    return w;
  }
  if (d.sliding == S::all_layers && window) std::fill(w.begin(), w.end(), window);
  if (d.sliding == S::from_max_window_layers && c.flag_or("use_sliding_window", false)) {
    const int64_t from = c.index_or("max_window_layers", d.default_max_window_layers);
    for (int64_t i = from; i < layers; ++i) w[static_cast<size_t>(i)] = window;
  }
  return w;
}

// {"window": W, "layers": [indices of the sliding layers], "kv_cache": "full"}, or {"window": 0}.
ordered_json sliding_facts(const std::vector<int64_t>& windows) {
  std::vector<int64_t> sliding;
  int64_t window = 0;
  for (size_t i = 0; i < windows.size(); ++i)
    if (windows[i] > 0) {
      sliding.push_back(static_cast<int64_t>(i));
      window = windows[i];
    }
  if (sliding.empty()) return {{"window", 0}};
  return {{"window", window}, {"layers", sliding}, {"kv_cache", "full"}};
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
  const nn::RopeSpec rope = read_rope(c, head_dim, 10000.0);

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
  const std::vector<int64_t> windows = layer_windows(c, d, layers);
  for (int64_t i = 0; i < layers; ++i) {
    auto layer = list->append(std::make_shared<nn::ResidualBlock>(P + "DecoderLayer"));
    auto& self_attn = layer->sublayer("input_layernorm", "self_attn");
    auto& mlp = layer->sublayer("post_attention_layernorm", "mlp");
    nn::AttentionSpec layer_attn = attn;
    layer_attn.sliding_window = windows[static_cast<size_t>(i)];
    self_attn.mixer.set(std::make_shared<nn::Attention>(layer_attn));
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
      {"sliding_window", sliding_facts(windows)},
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
