// Pure Mamba2 language models in two config formats: Hugging Face Mamba2Config
// (model_type "mamba2", modeling_mamba2.py names) and state-spaces/mamba's MambaConfig (no
// model_type; detected by d_model + ssm_cfg; mamba_ssm names, vocabulary padded).
#include <fmt/format.h>

#include "models/families.h"
#include "nn/blocks.h"

namespace anatomy::models {
namespace {

struct Names {  // the two formats' class and attribute names
  const char* root; const char* backbone; const char* embedding; const char* block;
  const char* norm; const char* mixer; const char* gated_norm;
};
constexpr Names kHf{"Mamba2ForCausalLM", "Mamba2Model", "embeddings", "Mamba2Block",
                    "Mamba2RMSNorm", "Mamba2Mixer", "MambaRMSNormGated"};
constexpr Names kMambaSsm{"MambaLMHeadModel", "MixerModel", "embedding", "Block", "RMSNorm",
                          "Mamba2", "RMSNormGated"};

// Mamba2Config's time_step_limit [lo, hi] (default (0, inf): no clamp); transformers clamps Δ to
// it whenever it differs from the default (§3 step 4).
void read_time_step_limit(const ConfigReader& c, nn::Mamba2Spec& s) {
  if (!c.has("time_step_limit")) return;
  const json& l = c.raw()["time_step_limit"];
  if (!l.is_array() || l.size() != 2 || !l[0].is_number() || !l[1].is_number() || l[0].get<double>() < 0 ||
      l[1].get<double>() < l[0].get<double>())
    c.error("time_step_limit", l.dump() + " is not [lo, hi] with 0 ≤ lo ≤ hi");
  s.dt_min = l[0].get<double>();
  s.dt_max = io::is_python_infinity(l[1]) ? 0 : l[1].get<double>();
}

bool is_mamba_ssm(const json& j) { return !j.contains("model_type") && j.contains("d_model") && j.contains("ssm_cfg"); }

Model assemble(const Names& n, const nn::Mamba2Spec& s, int64_t layers, int64_t vocab, bool tied,
               ordered_json config) {
  auto root = std::make_shared<nn::CausalLM>(n.root, "backbone", vocab, 0, "");
  auto bb = root->base.set(std::make_shared<nn::DecoderStack>(n.backbone, n.embedding, "layers", "norm_f"));
  auto emb = bb->embed.set(std::make_shared<nn::Embedding>(vocab, s.hidden));
  auto list = bb->layers.set(std::make_shared<nn::ModuleList<>>());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = list->append(std::make_shared<nn::ResidualBlock>(n.block));
    auto& sub = block->sublayer("norm", "mixer");
    sub.norm.set(std::make_shared<nn::RMSNorm>(s.hidden, s.eps, n.norm));
    sub.mixer.set(std::make_shared<nn::Mamba2Mixer>(s));
  }
  bb->norm.set(std::make_shared<nn::RMSNorm>(s.hidden, s.eps, n.norm));
  auto head = root->lm_head.set(std::make_shared<nn::Linear>(s.hidden, vocab, false));
  head->cls = ops::OpClass::head;
  if (tied) head->tie_weight(emb->weight);

  Model m;
  m.architecture = n.root;
  m.model_type = "mamba2";
  m.root = root;
  m.config = std::move(config);
  m.config.update(ordered_json{
      {"num_hidden_layers", layers},
      {"attention", {{"kind", "none"}}},
      {"ffn", {{"kind", "none"}}},
      {"ssm_heads", s.heads},
      {"ssm_head_dim", s.head_dim},
      {"ssm_state_size", s.state},
      {"ssm_groups", s.groups},
      {"ssm_inner_size", s.d_inner()},
      {"conv_kernel", s.conv_kernel},
      {"conv_dim", s.conv_dim()},
      {"in_proj_width", s.in_proj_width()},
      {"chunk_size", s.chunk_size},
      // Per group, as mamba_ssm (which the checkpoints were trained with) computes it; transformers'
      // Mamba2 normalises the whole inner width instead (the same for one group).
      {"norm", norm_facts("rms_norm", s.eps, "pre", {{"mixer_gated_groups", s.groups}, {"mixer_norm_scope", "per_group"},
                                                     {"differs_from_transformers", s.groups > 1}})},
      {"conv_activation", activation_name(s.conv_act)},
      {"time_step_limit", s.dt_max > 0 ? ordered_json{{"min", s.dt_min}, {"max", s.dt_max}} : ordered_json{{"min", s.dt_min}}},
      {"layer_pattern", std::string(static_cast<size_t>(layers), 'M')},
      {"position_embedding", {{"kind", "recurrence"}}},
      {"tie_word_embeddings", tied},
  });
  return m;
}

Model build_hf(const ConfigReader& c) {
  nn::Mamba2Spec s{kHf.mixer, kHf.gated_norm, c.count("hidden_size"), c.count("num_heads"),
                   c.count_or("head_dim", 64), c.count_or("state_size", 128), c.count_or("n_groups", 8),
                   c.count_or("conv_kernel", 4), c.count_or("chunk_size", 256),
                   c.flag_or("use_conv_bias", true), c.flag_or("use_bias", false),
                   c.positive_or("layer_norm_epsilon", 1e-5)};
  const double expand = c.positive_or("expand", 2);
  if (static_cast<double>(s.d_inner()) != expand * static_cast<double>(s.hidden))
    c.error("num_heads", fmt::format("num_heads × head_dim = {} but expand × hidden_size = {:g}",
                                     s.d_inner(), expand * static_cast<double>(s.hidden)));
  if (s.heads % s.groups != 0) c.error("n_groups", fmt::format("{} does not divide num_heads {}", s.groups, s.heads));
  s.conv_act = nn::activation_from_hf(c.string_or("hidden_act", "silu"));
  read_time_step_limit(c, s);
  const int64_t vocab = c.count("vocab_size");
  return assemble(kHf, s, c.layers("num_hidden_layers"), vocab, c.flag_or("tie_word_embeddings", false),
                  {{"hidden_size", s.hidden}, {"vocab_size", vocab}, {"expand", expand}});
}

Model build_mamba_ssm(const ConfigReader& c) {
  if (!c.raw()["ssm_cfg"].is_object()) c.error("ssm_cfg", "is not an object");
  const ConfigReader ssm(c.raw()["ssm_cfg"], c.file() + ": ssm_cfg");
  if (ssm.string_or("layer", "Mamba1") != "Mamba2")
    ssm.error("layer", "only Mamba2 layers are supported (Mamba1 has a different mixer)");
  if (c.index_or("d_intermediate", 0) != 0) c.error("d_intermediate", "MLP layers in mamba_ssm models are not supported");
  if (!c.index_list("attn_layer_idx").empty()) c.error("attn_layer_idx", "attention layers in mamba_ssm models are not supported");
  const int64_t d = c.count("d_model");
  const double expand = ssm.positive_or("expand", 2);
  const int64_t head_dim = ssm.count_or("headdim", 64);
  const auto d_inner = static_cast<int64_t>(expand * static_cast<double>(d));
  if (d_inner % head_dim != 0) ssm.error("headdim", fmt::format("{} does not divide d_inner {}", head_dim, d_inner));
  nn::Mamba2Spec s{kMambaSsm.mixer, kMambaSsm.gated_norm, d, d_inner / head_dim, head_dim,
                   ssm.count_or("d_state", 128), ssm.count_or("ngroups", 1), ssm.count_or("d_conv", 4),
                   ssm.count_or("chunk_size", 256), ssm.flag_or("conv_bias", true),
                   ssm.flag_or("bias", false), c.positive_or("norm_epsilon", 1e-5)};
  if (s.heads % s.groups != 0) ssm.error("ngroups", fmt::format("{} does not divide {} heads", s.groups, s.heads));
  const int64_t vocab = c.count("vocab_size"), pad = c.count_or("pad_vocab_size_multiple", 8);
  const int64_t padded = (vocab + pad - 1) / pad * pad;
  return assemble(kMambaSsm, s, c.layers("n_layer"), padded, c.flag_or("tie_embeddings", true),
                  {{"d_model", d}, {"vocab_size", vocab}, {"padded_vocab_size", padded},
                   {"pad_vocab_size_multiple", pad}, {"expand", expand},
                   {"residual_in_fp32", c.flag_or("residual_in_fp32", true)}});
}

Model build(const ConfigReader& c) { return is_mamba_ssm(c.raw()) ? build_mamba_ssm(c) : build_hf(c); }

}  // namespace

const Family kMamba2{"mamba2", "transformers Mamba2Config (mamba_ssm configs: mamba_ssm MambaConfig)", build, nullptr,
                     is_mamba_ssm};

}  // namespace anatomy::models
