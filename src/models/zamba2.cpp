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
std::shared_ptr<nn::ModuleList<>> adapters(const Sizes& s, int64_t id, int64_t in, int64_t out) {
  auto list = std::make_shared<nn::ModuleList<>>();
  for (int64_t j = 0; j < s.applications; ++j) {
    if (j % s.mem_blocks != id) {
      list->append(std::make_shared<nn::Module>("Identity"));
      continue;
    }
    auto seq = list->append(std::make_shared<nn::Sequential>());
    seq->append(std::make_shared<nn::Linear>(in, s.rank, false));
    seq->append(std::make_shared<nn::Linear>(s.rank, out, false));
  }
  return list;
}

// Adapter j of a list, as the scope "<list>.<j>"; nullopt when the list is absent.
std::optional<Tensor> adapt(nn::Run& run, const nn::Child<nn::ModuleList<>>& list, int64_t j, const Tensor& x) {
  if (!list) return std::nullopt;
  const auto i = static_cast<size_t>(j);
  return list.scope(run, x, [&] { return list->at(i).call(run, list->name_at(i), x); });
}

// Zamba2Attention: the shared GQA attention plus its per-application q/k/v adapters.
class AdaptedAttention : public nn::Attention {
 public:
  using nn::Attention::Attention;
  Tensor apply(nn::Run& run, const Tensor& x, int64_t j) const {
    const auto dq = adapt(run, linear_q_adapter_list, j, x), dk = adapt(run, linear_k_adapter_list, j, x),
               dv = adapt(run, linear_v_adapter_list, j, x);
    return attend(run, x, dq ? &*dq : nullptr, dk ? &*dk : nullptr, dv ? &*dv : nullptr);
  }
  nn::Child<nn::ModuleList<>> linear_q_adapter_list{*this, "linear_q_adapter_list"},
      linear_k_adapter_list{*this, "linear_k_adapter_list"}, linear_v_adapter_list{*this, "linear_v_adapter_list"};
};

// Zamba2MLP: down_proj(gelu(gate) * up) from a fused gate_up_proj, with its adapters.
class SharedMLP : public nn::Module {
 public:
  explicit SharedMLP(int64_t inter) : nn::Module("Zamba2MLP"), inter_(inter) {}
  Tensor apply(nn::Run& run, const Tensor& x, int64_t j) const {
    const auto& c = run.ctx;
    Tensor g = gate_up_proj(run, x);  // (B, T, 2·inter)
    if (const auto d = adapt(run, gate_up_proj_adapter_list, j, x)) g = ops::add(c, g, *d);
    const Tensor gate = act_fn(run, ops::slice_last(c, g, 0, inter_));
    return down_proj(run, ops::mul(c, gate, ops::slice_last(c, g, inter_, inter_)));
  }
  nn::Child<nn::Linear> gate_up_proj{*this, "gate_up_proj"}, down_proj{*this, "down_proj"};
  nn::Child<nn::ActivationModule> act_fn{*this, "act_fn"};
  nn::Child<nn::ModuleList<>> gate_up_proj_adapter_list{*this, "gate_up_proj_adapter_list"};

 private:
  int64_t inter_;
};

// The shared transformer block (§9.2 step 3): no residual inside; adapters of application j.
class SharedBlock : public nn::Module {
 public:
  SharedBlock() : nn::Module("Zamba2AttentionDecoderLayer") {}
  // a = concat(h, e0) [B, T, 2d] -> [B, T, d]
  Tensor apply(nn::Run& run, const Tensor& a, int64_t j) const {
    const Tensor n = input_layernorm(run, a);
    const Tensor o = self_attn.scope(run, n, [&] { return self_attn->apply(run, n, j); });
    const Tensor t = pre_ff_layernorm(run, o);
    return feed_forward.scope(run, t, [&] { return feed_forward->apply(run, t, j); });
  }
  nn::Child<AdaptedAttention> self_attn{*this, "self_attn"};
  nn::Child<SharedMLP> feed_forward{*this, "feed_forward"};
  nn::Child<nn::RMSNorm> input_layernorm{*this, "input_layernorm"}, pre_ff_layernorm{*this, "pre_ff_layernorm"};
};

// A layer of the stack: h -> h', given the embeddings e0 that hybrid layers concatenate.
class Zamba2Layer : public nn::Module {
 public:
  using nn::Module::Module;
  virtual Tensor apply(nn::Run& run, const Tensor& h, const Tensor& e0) const = 0;
};

// Zamba2MambaDecoderLayer: h + mamba(input_layernorm(h + t)), t = 0 outside hybrid layers.
class MambaLayer : public Zamba2Layer {
 public:
  MambaLayer() : Zamba2Layer("Zamba2MambaDecoderLayer") {}
  Tensor forward(nn::Run& run, const Tensor& h) const override { return with_input(run, h, h); }
  Tensor apply(nn::Run& run, const Tensor& h, const Tensor&) const override { return forward(run, h); }
  Tensor with_input(nn::Run& run, const Tensor& h, const Tensor& in) const {
    return ops::add(run.ctx, h, mamba(run, input_layernorm(run, in)));
  }
  nn::Child<nn::Mamba2Mixer> mamba{*this, "mamba"};
  nn::Child<nn::RMSNorm> input_layernorm{*this, "input_layernorm"};
};

// §9.2: t = linear(shared(concat(h, e0))); h + mamba(input_layernorm(h + t)).
class HybridLayer : public Zamba2Layer {
 public:
  explicit HybridLayer(int64_t ordinal) : Zamba2Layer("Zamba2HybridLayer"), ordinal_(ordinal) {}
  Tensor apply(nn::Run& run, const Tensor& h, const Tensor& e0) const override {
    const auto& c = run.ctx;
    const Tensor a = ops::concat_last(c, h, e0);
    Tensor t = shared_transformer.scope(run, a, [&] { return shared_transformer->apply(run, a, ordinal_); });
    t = linear(run, t);
    return mamba_decoder.scope(run, h, [&] { return mamba_decoder->with_input(run, h, ops::add(c, h, t)); });
  }
  nn::Child<nn::Linear> linear{*this, "linear"};
  nn::Child<MambaLayer> mamba_decoder{*this, "mamba_decoder"};
  nn::Child<SharedBlock> shared_transformer{*this, "shared_transformer"};

 private:
  int64_t ordinal_;
};

// Zamba2Model: embeddings, the layers (each given e0), final norm.
class Zamba2Model : public nn::Module {
 public:
  Zamba2Model() : nn::Module("Zamba2Model") {}
  Tensor forward(nn::Run& run, const Tensor& ids) const override {
    const Tensor e0 = embed_tokens(run, ids);  // kept for every hybrid layer
    const Tensor x = layers->run_each(run, layers.name(), e0,
                                      [&](const Zamba2Layer& layer, const Tensor& h) { return layer.apply(run, h, e0); });
    return final_layernorm(run, x);
  }
  nn::Child<nn::Embedding> embed_tokens{*this, "embed_tokens"};
  nn::Child<nn::ModuleList<Zamba2Layer>> layers{*this, "layers"};
  nn::Child<nn::RMSNorm> final_layernorm{*this, "final_layernorm"};
};

std::shared_ptr<SharedBlock> shared_block(const Sizes& s, int64_t id) {
  auto block = std::make_shared<SharedBlock>();
  auto attn = block->self_attn.set(std::make_shared<AdaptedAttention>(nn::AttentionSpec{
      .type = "Zamba2Attention", .input_width = s.attn_hidden, .output_width = s.hidden,
      .heads = s.heads, .kv_heads = s.kv_heads, .head_dim = s.head_dim, .rope = s.rope,
      .scale = 1.0 / std::sqrt(static_cast<double>(s.head_dim) / 2.0)}));  // (head_dim/2)^-0.5
  if (s.attn_adapter) {
    attn->linear_q_adapter_list.set(adapters(s, id, s.attn_hidden, s.attn_hidden));
    attn->linear_k_adapter_list.set(adapters(s, id, s.attn_hidden, s.attn_hidden));
    attn->linear_v_adapter_list.set(adapters(s, id, s.attn_hidden, s.attn_hidden));
  }
  auto mlp = block->feed_forward.set(std::make_shared<SharedMLP>(s.inter));
  mlp->gate_up_proj.set(std::make_shared<nn::Linear>(s.hidden, 2 * s.inter, s.bias));
  mlp->down_proj.set(std::make_shared<nn::Linear>(s.inter, s.hidden, s.bias));
  mlp->act_fn.set(std::make_shared<nn::ActivationModule>(Activation::gelu, "GELUActivation"));
  if (s.mlp_adapter) mlp->gate_up_proj_adapter_list.set(adapters(s, id, s.hidden, 2 * s.inter));
  block->input_layernorm.set(std::make_shared<nn::RMSNorm>(s.attn_hidden, s.eps, "Zamba2RMSNorm"));
  block->pre_ff_layernorm.set(std::make_shared<nn::RMSNorm>(s.hidden, s.eps, "Zamba2RMSNorm"));
  return block;
}

std::shared_ptr<MambaLayer> mamba_layer(const nn::Mamba2Spec& ssm, double eps) {
  auto layer = std::make_shared<MambaLayer>();
  layer->mamba.set(std::make_shared<nn::Mamba2Mixer>(ssm));
  layer->input_layernorm.set(std::make_shared<nn::RMSNorm>(ssm.hidden, eps, "Zamba2RMSNorm"));
  return layer;
}

std::vector<std::string> adapter_targets(const Sizes& s) {
  std::vector<std::string> on;
  if (s.attn_adapter) on.insert(on.end(), {"q", "k", "v"});
  if (s.mlp_adapter) on.push_back("gate_up_proj");
  return on;
}

// layers_block_type ("mamba"/"hybrid"; transformers 5 writes the Mamba layers as
// "linear_attention", as it does for Nemotron-H) or hybrid_layer_ids.
std::string layer_kinds(const ConfigReader& c, int64_t layers) {
  std::string kinds;
  if (c.has("layers_block_type")) {
    const json& list = c.raw()["layers_block_type"];
    if (!list.is_array()) c.error("layers_block_type", "is not a list");
    for (const auto& t : list) {
      if (t == "mamba" || t == "linear_attention") kinds += 'M';
      else if (t == "hybrid") kinds += 'H';
      else c.error("layers_block_type", "unknown block type " + t.dump() + " (mamba or linear_attention, hybrid)");
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
          c.flag_or("use_shared_attention_adapter", false), true, eps};
  // transformers' shared MLP always has its per-application adapters; use_shared_mlp_adapter is
  // not one of its fields (read only so that a non-boolean is still an error).
  c.flag_or("use_shared_mlp_adapter", true);
  if (s.attn_adapter && s.kv_heads != heads)
    c.error("num_key_value_heads", fmt::format("{} KV heads for {} query heads with use_shared_attention_adapter: the "
                                               "q/k/v adapters are attention_hidden_size wide, so they need as many KV "
                                               "heads as query heads (transformers cannot run it either)", s.kv_heads, heads));
  if (s.heads % s.kv_heads != 0)
    c.error("num_key_value_heads", fmt::format("{} query heads are not a multiple of {} KV heads", s.heads, s.kv_heads));
  if (s.attn_hidden % heads != 0)
    c.error("num_attention_heads", fmt::format("{} heads do not divide the attention width 2 × hidden_size = {}", heads, s.attn_hidden));
  s.head_dim = s.attn_hidden / heads;
  const bool rope = c.flag_or("use_mem_rope", false);
  if (rope) s.rope = read_rope(c, s.head_dim, 10000.0);
  const std::string act = c.string_or("hidden_act", "gelu");
  if (act != "gelu") c.error("hidden_act", "'" + act + "' is not supported (gelu)");

  const int64_t expand = c.count_or("mamba_expand", 2), ssm_heads = c.count_or("n_mamba_heads", 8);
  if (expand * hidden % ssm_heads != 0)
    c.error("n_mamba_heads", fmt::format("{} does not divide mamba_expand × hidden_size = {}", ssm_heads, expand * hidden));
  nn::Mamba2Spec ssm{"Zamba2MambaMixer", "Zamba2RMSNormGated", hidden, ssm_heads, expand * hidden / ssm_heads,
                     c.count_or("mamba_d_state", 64), c.count_or("mamba_ngroups", 1), c.count_or("mamba_d_conv", 4),
                     c.count_or("chunk_size", 256), c.flag_or("use_conv_bias", true), s.bias, 1e-5};
  ssm.dt_min = c.positive_or("time_step_min", 0.001);  // transformers clamps Δ ≥ time_step_min (§3 step 4)
  if (ssm.heads % ssm.groups != 0)
    c.error("mamba_ngroups", fmt::format("{} does not divide n_mamba_heads {}", ssm.groups, ssm.heads));
  const bool tied = c.flag_or("tie_word_embeddings", true);

  auto root = std::make_shared<nn::CausalLM>("Zamba2ForCausalLM", "model", vocab,
                                              c.count_or("max_position_embeddings", 4096), "max_position_embeddings");
  auto model = root->base.set(std::make_shared<Zamba2Model>());
  auto emb = model->embed_tokens.set(std::make_shared<nn::Embedding>(vocab, hidden));
  std::vector<std::shared_ptr<SharedBlock>> blocks;
  for (int64_t k = 0; tied && k < s.mem_blocks; ++k) blocks.push_back(shared_block(s, k));
  auto list = model->layers.set(std::make_shared<nn::ModuleList<Zamba2Layer>>());
  std::vector<int64_t> hybrid_ids;
  for (int64_t i = 0; i < layers; ++i) {
    if (kinds[static_cast<size_t>(i)] == 'M') {
      list->append(mamba_layer(ssm, eps));
      continue;
    }
    auto layer = list->append(std::make_shared<HybridLayer>(static_cast<int64_t>(hybrid_ids.size())));
    layer->linear.set(std::make_shared<nn::Linear>(hidden, hidden, false));
    layer->mamba_decoder.set(mamba_layer(ssm, eps));
    // transformers 5 shares the block's parameters across hybrid layers only when the embeddings
    // are tied; otherwise each hybrid layer owns a copy of its block (checkpoints may differ).
    layer->shared_transformer.set(tied ? blocks[hybrid_ids.size() % blocks.size()]
                                       : shared_block(s, static_cast<int64_t>(hybrid_ids.size()) % s.mem_blocks));
    hybrid_ids.push_back(i);
  }
  model->final_layernorm.set(std::make_shared<nn::RMSNorm>(hidden, eps, "Zamba2RMSNorm"));
  if (rope) model->register_child("rotary_emb", std::make_shared<nn::Module>("Zamba2RotaryEmbedding"));
  auto head = root->lm_head.set(std::make_shared<nn::Linear>(hidden, vocab, false));
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
      {"layer_counts", {{"mamba", layers - n_hybrid}, {"hybrid", n_hybrid}}},
      {"num_mem_blocks", s.mem_blocks},
      {"shared_blocks", {{"blocks", s.mem_blocks}, {"applications", n_hybrid}, {"copies", tied ? "shared" : "per_layer"}}},
      {"attention_hidden_size", s.attn_hidden},
      {"num_attention_heads", heads},
      {"num_key_value_heads", s.kv_heads},
      {"head_dim", s.head_dim},
      {"gqa_ratio", heads / s.kv_heads},
      {"attention", attention_facts(heads, s.kv_heads, {"no_bias", "input_concat_embeddings", "scale_half_head_dim"})},
      {"rope", rope_facts(s.rope)},
      {"ffn", ffn_facts("gated", "gelu", "down_proj(gelu(gate) * up), [gate | up] = gate_up_proj(x)",
                        {{"blocks", "shared"}})},
      {"intermediate_size", s.inter},
      {"adapters", {{"rank", s.attn_adapter || s.mlp_adapter ? s.rank : 0}, {"on", adapter_targets(s)}}},
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
      {"norm", norm_facts("rms_norm", eps, "pre", {{"mixer_gated_groups", ssm.groups}})},
      {"tie_word_embeddings", tied},
  };
  return m;
}

}  // namespace

const Family kZamba2{"zamba2", "transformers Zamba2Config", build};

}  // namespace anatomy::models
