// Zamba2 (transformers modeling_zamba2.py, Zamba2Config). Mamba2 layers, plus hybrid layers in
// which `num_mem_blocks` shared transformer blocks (one object each, reachable under every hybrid
// layer that uses it) are applied with per-application LoRA-style adapters (§9 of ARCHITECTURES).
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "models/families.h"
#include "nn/blocks.h"

namespace anatomy::models {
namespace {

struct Sizes {
  int64_t hidden, attn_hidden, heads, kv_heads, head_dim, inter, rank, mem_blocks, applications;
  bool bias, attn_adapter, mlp_adapter;
  double eps;
  nn::RopeSpec rope;  // dim 0 unless use_mem_rope
};

// Adapter list of one shared block: slot j is a rank-r Sequential when block `id` serves
// hybrid application j, an Identity otherwise.
std::shared_ptr<nn::ModuleList> adapters(const Sizes& s, int64_t id, int64_t in, int64_t out) {
  auto list = std::make_shared<nn::ModuleList>();
  for (int64_t j = 0; j < s.applications; ++j) {
    if (j % s.mem_blocks != id) {
      list->add(std::to_string(j), std::make_shared<nn::Module>("Identity"));
      continue;
    }
    auto seq = list->add(std::to_string(j), std::make_shared<nn::Sequential>());
    seq->add("0", std::make_shared<nn::Linear>(in, s.rank, false));
    seq->add("1", std::make_shared<nn::Linear>(s.rank, out, false));
  }
  return list;
}

// The shared transformer block (§9.2 step 3): no residual inside; adapters of application j.
class SharedBlock : public nn::Module {
 public:
  SharedBlock(int64_t inter) : nn::Module("Zamba2AttentionDecoderLayer"), inter_(inter) {}

  // a = concat(h, e0) [B, T, 2d] -> [B, T, d]
  Tensor apply(nn::Run& run, const Tensor& a, int64_t j) const {
    const auto& c = run.ctx;
    const std::string slot = std::to_string(j);
    auto adapter = [&](const nn::Module& parent, const char* list, const Tensor& x) -> std::optional<Tensor> {
      const auto l = parent.child(list);
      if (!l) return std::nullopt;
      return run.scope(list, *l, x, [&] { return l->child(slot)->call(run, slot, x); });
    };
    const Tensor n = child("input_layernorm")->call(run, "input_layernorm", a);
    const auto& attn = static_cast<const nn::Attention&>(*child("self_attn"));
    const Tensor o = run.scope("self_attn", attn, n, [&] {
      const auto dq = adapter(attn, "linear_q_adapter_list", n), dk = adapter(attn, "linear_k_adapter_list", n),
                 dv = adapter(attn, "linear_v_adapter_list", n);
      return attn.attend(run, n, dq ? &*dq : nullptr, dk ? &*dk : nullptr, dv ? &*dv : nullptr);
    });
    const Tensor t = child("pre_ff_layernorm")->call(run, "pre_ff_layernorm", o);
    const auto& mlp = *child("feed_forward");
    return run.scope("feed_forward", mlp, t, [&] {
      Tensor g = mlp.child("gate_up_proj")->call(run, "gate_up_proj", t);
      if (const auto d = adapter(mlp, "gate_up_proj_adapter_list", t)) g = ops::add(c, g, *d);
      const Tensor gate = mlp.child("act_fn")->call(run, "act_fn", ops::slice_last(c, g, 0, inter_));
      return mlp.child("down_proj")->call(run, "down_proj", ops::mul(c, gate, ops::slice_last(c, g, inter_, inter_)));
    });
  }

 private:
  int64_t inter_;
};

// §9.2: t = linear(shared(concat(h, e0))); h + mamba(input_layernorm(h + t)).
class HybridLayer : public nn::Module {
 public:
  explicit HybridLayer(int64_t ordinal) : nn::Module("Zamba2HybridLayer"), ordinal_(ordinal) {}
  Tensor apply(nn::Run& run, const Tensor& h, const Tensor& e0) const {
    const auto& c = run.ctx;
    const auto& shared = static_cast<const SharedBlock&>(*child("shared_transformer"));
    const Tensor a = ops::concat_last(c, h, e0);
    Tensor t = run.scope("shared_transformer", shared, a, [&] { return shared.apply(run, a, ordinal_); });
    t = child("linear")->call(run, "linear", t);
    const auto& dec = *child("mamba_decoder");
    return run.scope("mamba_decoder", dec, h, [&] {
      const Tensor n = dec.child("input_layernorm")->call(run, "input_layernorm", ops::add(c, h, t));
      return ops::add(c, h, dec.child("mamba")->call(run, "mamba", n));
    });
  }

 private:
  int64_t ordinal_;
};

class Zamba2ForCausalLM : public nn::LanguageModel {
 public:
  using nn::LanguageModel::LanguageModel;
  Tensor forward_ids(nn::Run& run, const Tensor& ids) const override {
    const auto& model = *child("model");
    const Tensor h = run.scope("model", model, ids, [&] {
      const Tensor e0 = model.child("embed_tokens")->call(run, "embed_tokens", ids);  // kept for every hybrid layer
      const auto& layers = *model.child("layers");
      Tensor x = run.scope("layers", layers, e0, [&] {
        Tensor y = e0;
        for (const auto& [name, layer] : layers.children()) {
          if (const auto* hybrid = dynamic_cast<const HybridLayer*>(layer.get()))
            y = run.scope(name, *hybrid, y, [&] { return hybrid->apply(run, y, e0); });
          else
            y = layer->call(run, name, y);
        }
        return y;
      });
      return model.child("final_layernorm")->call(run, "final_layernorm", x);
    });
    return nn::lm_head(run, *this, h);
  }
};

std::shared_ptr<nn::Module> shared_block(const Sizes& s, int64_t id) {
  auto block = std::make_shared<SharedBlock>(s.inter);
  auto attn = block->add("self_attn", std::make_shared<nn::Attention>(nn::AttentionSpec{
      .type = "Zamba2Attention", .input_width = s.attn_hidden, .output_width = s.hidden,
      .heads = s.heads, .kv_heads = s.kv_heads, .head_dim = s.head_dim, .rope = s.rope,
      .scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim) / 2.0)}));  // (head_dim/2)^-0.5
  if (s.attn_adapter)
    for (const char* name : {"linear_q_adapter_list", "linear_k_adapter_list", "linear_v_adapter_list"})
      attn->add(name, adapters(s, id, s.attn_hidden, s.attn_hidden));
  auto mlp = block->add("feed_forward", std::make_shared<nn::Module>("Zamba2MLP"));
  mlp->add("gate_up_proj", std::make_shared<nn::Linear>(s.hidden, 2 * s.inter, s.bias));
  mlp->add("down_proj", std::make_shared<nn::Linear>(s.inter, s.hidden, s.bias));
  mlp->add("act_fn", std::make_shared<nn::ActivationModule>(nn::Activation::gelu, "GELUActivation"));
  if (s.mlp_adapter) mlp->add("gate_up_proj_adapter_list", adapters(s, id, s.hidden, 2 * s.inter));
  block->add("input_layernorm", std::make_shared<nn::RMSNorm>(s.attn_hidden, s.eps, "Zamba2RMSNorm"));
  block->add("pre_ff_layernorm", std::make_shared<nn::RMSNorm>(s.hidden, s.eps, "Zamba2RMSNorm"));
  return block;
}

std::shared_ptr<nn::Module> mamba_layer(const nn::Mamba2Spec& ssm, double eps) {
  auto layer = std::make_shared<nn::ResidualBlock>(
      "Zamba2MambaDecoderLayer", std::vector<std::pair<std::string, std::string>>{{"input_layernorm", "mamba"}});
  layer->add("mamba", std::make_shared<nn::Mamba2Mixer>(ssm));
  layer->add("input_layernorm", std::make_shared<nn::RMSNorm>(ssm.hidden, eps, "Zamba2RMSNorm"));
  return layer;
}

// layers_block_type ("mamba"/"hybrid") or hybrid_layer_ids.
std::string layer_kinds(const ConfigReader& c, int64_t layers) {
  std::string kinds;
  if (c.has("layers_block_type")) {
    const json& list = c.raw()["layers_block_type"];
    if (!list.is_array()) c.error("layers_block_type", "is not a list");
    for (const auto& t : list) {
      if (t == "mamba") kinds += 'M';
      else if (t == "hybrid") kinds += 'H';
      else c.error("layers_block_type", "unknown block type " + t.dump() + " (mamba, hybrid)");
    }
  } else if (c.has("hybrid_layer_ids")) {
    kinds.assign(static_cast<size_t>(layers), 'M');
    for (int64_t i : c.index_list("hybrid_layer_ids")) {
      if (i >= layers) c.error("hybrid_layer_ids", fmt::format("{} is not a layer index (< {})", i, layers));
      kinds[static_cast<size_t>(i)] = 'H';
    }
  } else {
    c.error("layers_block_type", "required field is missing (or hybrid_layer_ids)");
  }
  if (static_cast<int64_t>(kinds.size()) != layers)
    c.error("layers_block_type", fmt::format("has {} entries for num_hidden_layers = {}", kinds.size(), layers));
  return kinds;
}

Model build(const ConfigReader& c) {
  const int64_t hidden = c.count("hidden_size"), layers = c.layers("num_hidden_layers"),
                vocab = c.count("vocab_size"), heads = c.count("num_attention_heads");
  const std::string kinds = layer_kinds(c, layers);
  const auto n_hybrid = static_cast<int64_t>(std::count(kinds.begin(), kinds.end(), 'H'));
  const double eps = c.positive_or("rms_norm_eps", 1e-5);
  Sizes s{hidden, 2 * hidden, heads, c.count_or("num_key_value_heads", heads), 0,
          c.count_or("intermediate_size", 4 * hidden), c.count_or("adapter_rank", 128),
          c.count_or("num_mem_blocks", 1), n_hybrid, c.flag_or("add_bias_linear", false),
          c.flag_or("use_shared_attention_adapter", false), c.flag_or("use_shared_mlp_adapter", false), eps};
  if (s.heads % s.kv_heads != 0)
    c.error("num_key_value_heads", fmt::format("{} query heads are not a multiple of {} KV heads", s.heads, s.kv_heads));
  if (s.attn_hidden % heads != 0)
    c.error("num_attention_heads", fmt::format("{} heads do not divide the attention width 2 × hidden_size = {}", heads, s.attn_hidden));
  s.head_dim = s.attn_hidden / heads;
  const bool rope = c.flag_or("use_mem_rope", false);
  if (rope) s.rope = {.dim = s.head_dim, .theta = c.positive_or("rope_theta", 10000)};
  const std::string act = c.string_or("hidden_act", "gelu");
  if (act != "gelu") c.error("hidden_act", "'" + act + "' is not supported (gelu)");

  const int64_t expand = c.count_or("mamba_expand", 2), ssm_heads = c.count_or("n_mamba_heads", 8);
  if (expand * hidden % ssm_heads != 0)
    c.error("n_mamba_heads", fmt::format("{} does not divide mamba_expand × hidden_size = {}", ssm_heads, expand * hidden));
  nn::Mamba2Spec ssm{"Zamba2MambaMixer", "Zamba2RMSNormGated", hidden, ssm_heads, expand * hidden / ssm_heads,
                     c.count_or("mamba_d_state", 64), c.count_or("mamba_ngroups", 1), c.count_or("mamba_d_conv", 4),
                     c.count_or("chunk_size", 256), c.flag_or("use_conv_bias", true), s.bias, 1e-5};
  if (ssm.heads % ssm.groups != 0)
    c.error("mamba_ngroups", fmt::format("{} does not divide n_mamba_heads {}", ssm.groups, ssm.heads));
  const bool tied = c.flag_or("tie_word_embeddings", true);

  auto root = std::make_shared<Zamba2ForCausalLM>("Zamba2ForCausalLM");
  auto model = root->add("model", std::make_shared<nn::Module>("Zamba2Model"));
  auto emb = model->add("embed_tokens", std::make_shared<nn::Embedding>(vocab, hidden));
  std::vector<std::shared_ptr<nn::Module>> blocks;
  for (int64_t k = 0; k < s.mem_blocks; ++k) blocks.push_back(shared_block(s, k));
  auto list = model->add("layers", std::make_shared<nn::ModuleList>());
  std::vector<int64_t> hybrid_ids;
  for (int64_t i = 0; i < layers; ++i) {
    if (kinds[static_cast<size_t>(i)] == 'M') {
      list->add(std::to_string(i), mamba_layer(ssm, eps));
      continue;
    }
    auto layer = list->add(std::to_string(i), std::make_shared<HybridLayer>(static_cast<int64_t>(hybrid_ids.size())));
    layer->add("linear", std::make_shared<nn::Linear>(hidden, hidden, false));
    layer->add("mamba_decoder", mamba_layer(ssm, eps));
    layer->add("shared_transformer", blocks[hybrid_ids.size() % blocks.size()]);
    hybrid_ids.push_back(i);
  }
  model->add("final_layernorm", std::make_shared<nn::RMSNorm>(hidden, eps, "Zamba2RMSNorm"));
  if (rope) model->add("rotary_emb", std::make_shared<nn::Module>("Zamba2RotaryEmbedding"));
  auto head = root->add("lm_head", std::make_shared<nn::Linear>(hidden, vocab, false));
  head->cls = ops::OpClass::head;
  if (tied) head->tie_weight(emb->weight);

  std::string pattern;
  for (char k : kinds) pattern += k == 'H' ? 'H' : 'M';
  Model m;
  m.architecture = "Zamba2ForCausalLM";
  m.model_type = "zamba2";
  m.root = root;
  m.config = {
      {"hidden_size", hidden},
      {"num_hidden_layers", layers},
      {"vocab_size", vocab},
      {"layer_pattern", pattern},
      {"hybrid_layer_ids", hybrid_ids},
      {"layer_counts", fmt::format("{} Mamba (M), {} hybrid (H: Mamba + shared transformer)", layers - n_hybrid, n_hybrid)},
      {"num_mem_blocks", s.mem_blocks},
      {"shared_blocks", fmt::format("{} shared transformer block{} applied {} times", s.mem_blocks,
                                    s.mem_blocks == 1 ? "" : "s", n_hybrid)},
      {"attention_hidden_size", s.attn_hidden},
      {"num_attention_heads", heads},
      {"num_key_value_heads", s.kv_heads},
      {"head_dim", s.head_dim},
      {"gqa_ratio", heads / s.kv_heads},
      {"attention", attention_kind(heads, s.kv_heads) + fmt::format(", input concat(h, embeddings) of width {}, "
                                                                  "scale (head_dim/2)^-0.5", s.attn_hidden)},
      {"rope", rope ? fmt::format("rotate-half, theta {:g}, full head_dim", s.rope.theta)
                    : std::string("none")},
      {"ffn", "down_proj(gelu(gate) * up), fused gate_up_proj (GeGLU), in the shared block"},
      {"intermediate_size", s.inter},
      {"adapters", s.attn_adapter || s.mlp_adapter
                       ? fmt::format("rank {} on{}{}, one set per hybrid application", s.rank,
                                     s.attn_adapter ? " q, k, v" : "", s.mlp_adapter ? " and gate_up_proj" : "")
                       : std::string("none")},
      {"ssm_heads", ssm.heads},
      {"ssm_head_dim", ssm.head_dim},
      {"ssm_state_size", ssm.state},
      {"ssm_groups", ssm.groups},
      {"ssm_inner_size", ssm.d_inner()},
      {"conv_kernel", ssm.conv_kernel},
      {"conv_dim", ssm.conv_dim()},
      {"in_proj_width", ssm.in_proj_width()},
      {"chunk_size", ssm.chunk_size},
      {"norm", fmt::format("RMSNorm, eps {:g}, pre-norm; gated RMSNorm in the mixer ({} group{})", eps,
                           ssm.groups, ssm.groups == 1 ? "" : "s")},
      {"tie_word_embeddings", tied},
  };
  return m;
}

}  // namespace

const Family kZamba2{"zamba2", build};

}  // namespace anatomy::models
