// Nemotron-H (NVIDIA-Nemotron-Nano-9B-v2; NVIDIA's modeling_nemotron_h.py names, NemotronHConfig
// defaults). One block wrapper h = h + mixer(norm(h)) whose mixer is chosen per layer by the
// pattern: M = Mamba2, * = attention (GQA, no positional encoding), - = ReLU² MLP.
#include <fmt/format.h>

#include "models/families.h"
#include "nn/blocks.h"

namespace anatomy::models {
namespace {

// hybrid_override_pattern, or the newer list spelling layers_block_type.
std::string layer_pattern(const ConfigReader& c, int64_t layers) {
  std::string p;
  if (c.has("hybrid_override_pattern")) {
    p = c.string_or("hybrid_override_pattern", "");
  } else if (c.has("layers_block_type")) {
    const json& list = c.raw()["layers_block_type"];
    if (!list.is_array()) c.error("layers_block_type", "is not a list");
    for (const auto& t : list) {
      const std::string s = t.is_string() ? t.get<std::string>() : t.dump();
      if (s == "mamba" || s == "linear_attention") p += 'M';
      else if (s == "attention" || s == "full_attention") p += '*';
      else if (s == "mlp") p += '-';
      else if (s == "moe") p += 'E';
      else c.error("layers_block_type", "unknown block type " + s);
    }
  } else {
    c.error("hybrid_override_pattern", "required field is missing (or layers_block_type)");
  }
  if (static_cast<int64_t>(p.size()) != layers)
    c.error("hybrid_override_pattern", fmt::format("has {} letters for num_hidden_layers = {}", p.size(), layers));
  for (char ch : p) {
    if (ch == 'E') c.error("hybrid_override_pattern", "mixture-of-experts blocks (E) are not supported yet");
    if (ch != 'M' && ch != '*' && ch != '-')
      c.error("hybrid_override_pattern", fmt::format("unknown block letter '{}' (M, *, -)", ch));
  }
  return p;
}

Model build(const ConfigReader& c) {
  const int64_t d = c.count("hidden_size"), layers = c.layers("num_hidden_layers"), vocab = c.count("vocab_size");
  const std::string pattern = layer_pattern(c, layers);
  const auto n_of = [&](char ch) { return static_cast<int64_t>(std::count(pattern.begin(), pattern.end(), ch)); };
  const double eps = c.positive_or("layer_norm_epsilon", 1e-5);
  // transformers' NemotronH never ties the head to the embeddings, whatever tie_word_embeddings says.
  c.flag_or("tie_word_embeddings", false);  // validated: a boolean

  nn::Mamba2Spec ssm{"NemotronHMamba2Mixer", "MambaRMSNormGated", d, c.count_or("mamba_num_heads", 128),
                     c.count_or("mamba_head_dim", 64), c.count_or("ssm_state_size", 128),
                     c.count_or("n_groups", 8), c.count_or("conv_kernel", 4), c.count_or("chunk_size", 128),
                     c.flag_or("use_conv_bias", true), c.flag_or("use_bias", c.flag_or("mamba_proj_bias", false)), eps};
  ssm.dt_min = c.positive_or("time_step_min", 0.001);  // transformers clamps Δ ≥ time_step_min (§3 step 4)
  if (ssm.heads % ssm.groups != 0)
    c.error("n_groups", fmt::format("{} does not divide mamba_num_heads {}", ssm.groups, ssm.heads));
  nn::AttentionSpec attn{.type = "NemotronHAttention", .input_width = d, .output_width = d,
                         .heads = 0, .kv_heads = 0, .head_dim = 0};  // no attention bias, whatever attention_bias says
  if (n_of('*') > 0) {
    attn.heads = c.count("num_attention_heads");
    attn.kv_heads = c.count_or("num_key_value_heads", attn.heads);
    // head_dim (or its older spelling attention_head_dim); NemotronHConfig's default is 128.
    if (attn.heads % attn.kv_heads != 0)
      c.error("num_key_value_heads", fmt::format("{} query heads are not a multiple of {} KV heads", attn.heads, attn.kv_heads));
    attn.head_dim = c.count_or(c.has("head_dim") || !c.has("attention_head_dim") ? "head_dim" : "attention_head_dim", 128);
  }
  const int64_t inter = n_of('-') > 0 ? c.count("intermediate_size") : 0;
  const bool mlp_bias = c.flag_or("mlp_bias", false);
  const std::string act = c.string_or("mlp_hidden_act", "relu2");
  if (act != "relu2") c.error("mlp_hidden_act", "'" + act + "' is not supported (relu2)");

  auto root = std::make_shared<nn::CausalLM>("NemotronHForCausalLM", "backbone", vocab, c.count_or("max_position_embeddings", 4096),
                                              "max_position_embeddings");
  auto bb = root->base.set(std::make_shared<nn::DecoderStack>("NemotronHModel", "embeddings", "layers", "norm_f"));
  auto emb = bb->embed.set(std::make_shared<nn::Embedding>(vocab, d));
  auto list = bb->layers.set(std::make_shared<nn::ModuleList<>>());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = list->append(std::make_shared<nn::ResidualBlock>("NemotronHBlock"));
    auto& sub = block->sublayer("norm", "mixer");
    sub.norm.set(std::make_shared<nn::RMSNorm>(d, eps, "NemotronHRMSNorm"));
    const char kind = pattern[static_cast<size_t>(i)];
    if (kind == 'M') {
      sub.mixer.set(std::make_shared<nn::Mamba2Mixer>(ssm));
    } else if (kind == '*') {
      sub.mixer.set(std::make_shared<nn::Attention>(attn));
    } else {
      auto mlp = sub.mixer.set(std::make_shared<nn::PlainMLP>("NemotronHMLP", "up_proj", "act_fn", "down_proj"));
      mlp->in.set(std::make_shared<nn::Linear>(d, inter, mlp_bias));
      mlp->out.set(std::make_shared<nn::Linear>(inter, d, mlp_bias));
      mlp->act.set(std::make_shared<nn::ActivationModule>(Activation::relu2, "ReLUSquaredActivation"));
    }
  }
  bb->norm.set(std::make_shared<nn::RMSNorm>(d, eps, "NemotronHRMSNorm"));
  auto head = root->lm_head.set(std::make_shared<nn::Linear>(d, vocab, false));
  head->cls = ops::OpClass::head;

  Model m;
  m.architecture = "NemotronHForCausalLM";
  m.model_type = "nemotron_h";
  m.root = root;
  m.config = {
      {"hidden_size", d},
      {"num_hidden_layers", layers},
      {"vocab_size", vocab},
      {"layer_pattern", pattern},
      {"layer_counts", {{"mamba", n_of('M')}, {"attention", n_of('*')}, {"mlp", n_of('-')}}},
      {"num_attention_heads", attn.heads},
      {"num_key_value_heads", attn.kv_heads},
      {"head_dim", attn.head_dim},
      {"gqa_ratio", attn.kv_heads > 0 ? attn.heads / attn.kv_heads : 0},
      {"attention", n_of('*') > 0 ? attention_facts(attn.heads, attn.kv_heads,
                                                    {"no_bias", "causal", "no_position_encoding"})
                                  : ordered_json{{"kind", "none"}}},
      {"ffn", n_of('-') > 0 ? ffn_facts("plain", "relu2", "down_proj(relu(up_proj(x))²)", {{"blocks", "own"}})
                            : ordered_json{{"kind", "none"}}},
      {"intermediate_size", inter},
      {"ssm_heads", ssm.heads},
      {"ssm_head_dim", ssm.head_dim},
      {"ssm_state_size", ssm.state},
      {"ssm_groups", ssm.groups},
      {"ssm_inner_size", ssm.d_inner()},
      {"conv_kernel", ssm.conv_kernel},
      {"conv_dim", ssm.conv_dim()},
      {"in_proj_width", ssm.in_proj_width()},
      {"chunk_size", ssm.chunk_size},
      {"time_step_min", ssm.dt_min},
      {"norm", norm_facts("rms_norm", eps, "pre", {{"mixer_gated_groups", ssm.groups},
                                                   {"mixer_group_size", ssm.d_inner() / ssm.groups}})},
      {"position_embedding", {{"kind", "recurrence"}}},
      {"tie_word_embeddings", false},
  };
  return m;
}

// transformers' native port names the base model "model" instead of NVIDIA's "backbone".
std::string checkpoint_name(const std::string& name) {
  return name.rfind("model.", 0) == 0 ? "backbone." + name.substr(6) : name;
}

}  // namespace

const Family kNemotronH{"nemotron_h", "transformers NemotronHConfig", build, checkpoint_name};

}  // namespace anatomy::models
