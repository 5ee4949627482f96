// Shared blocks: GQA self-attention (§3.4), gated MLP (§3.5) and the Mamba2 mixer (§3.6) of
// ARCHITECTURES.md, residual blocks, the decoder stacks and LM roots. A family file picks the class
// names, child names and options; the structure is here. Every child is a typed Child<> member.
#pragma once

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "nn/layers.h"
#include "nn/rope.h"

namespace anatomy::nn {

struct AttentionSpec {
  std::string type;       // "LlamaAttention", "NemotronHAttention", ...
  int64_t input_width;    // hidden size fed to q/k/v (Zamba2: 2 × hidden)
  int64_t output_width;   // o_proj output
  int64_t heads, kv_heads, head_dim;
  bool qkv_bias = false, o_bias = false;
  std::string qk_norm_type;  // per-head q/k RMSNorm class (Qwen3), empty when absent
  double norm_eps = 1e-6;
  RopeSpec rope;             // rope.dim == 0: no positional encoding in attention
  double scale = 0;          // score scale; 0 means head_dim^-0.5
  int64_t sliding_window = 0;  // > 0: keys more than sliding_window − 1 positions back are masked
};

// Causal self-attention with a KV cache in the run's state.
class Attention : public Module {
 public:
  explicit Attention(const AttentionSpec& spec);
  Tensor forward(Run& run, const Tensor& x) const override { return attend(run, x, nullptr, nullptr, nullptr); }
  // dq/dk/dv are added to the projections (Zamba2's per-application adapters).
  Tensor attend(Run& run, const Tensor& x, const Tensor* dq, const Tensor* dk, const Tensor* dv) const;
  AttentionSpec spec;
  std::vector<float> inv_freq;
  Child<Linear> q_proj{*this, "q_proj"}, k_proj{*this, "k_proj"}, v_proj{*this, "v_proj"}, o_proj{*this, "o_proj"};
  Child<RMSNorm> q_norm{*this, "q_norm"}, k_norm{*this, "k_norm"};  // set only with qk_norm_type
};

// down_proj(act(gate_proj(x)) ⊙ up_proj(x))
class GatedMLP : public Module {
 public:
  GatedMLP(std::string type, int64_t hidden, int64_t intermediate, Activation act,
           std::string act_type, bool bias);
  Tensor forward(Run& run, const Tensor& x) const override;
  bool position_wise() const override { return true; }
  Child<Linear> gate_proj{*this, "gate_proj"}, up_proj{*this, "up_proj"}, down_proj{*this, "down_proj"};
  Child<ActivationModule> act_fn{*this, "act_fn"};
};

struct Mamba2Spec {
  std::string type;       // "Mamba2Mixer", "NemotronHMamba2Mixer", "Zamba2MambaMixer"
  std::string norm_type;  // "MambaRMSNormGated", "Zamba2RMSNormGated", ...
  int64_t hidden, heads, head_dim, state, groups, conv_kernel, chunk_size;
  bool conv_bias = true, proj_bias = false;
  double eps = 1e-5;
  Activation conv_act = Activation::silu;  // after the depthwise conv (Mamba2Config's hidden_act)
  double dt_min = 0, dt_max = 0;           // Δ clamp after softplus; 0 = no bound on that side
  int64_t d_inner() const { return heads * head_dim; }
  int64_t conv_dim() const { return d_inner() + 2 * groups * state; }
  int64_t in_proj_width() const { return 2 * d_inner() + 2 * groups * state + heads; }
};

class Mamba2Mixer : public Module {
 public:
  explicit Mamba2Mixer(const Mamba2Spec& spec);
  Tensor forward(Run& run, const Tensor& u) const override;
  Mamba2Spec spec;
  std::shared_ptr<Parameter> dt_bias, A_log, D;
  Child<DepthwiseConv1d> conv1d{*this, "conv1d"};
  Child<ActivationModule> act{*this, "act"};
  Child<Linear> in_proj{*this, "in_proj"}, out_proj{*this, "out_proj"};
  Child<GatedRMSNorm> norm{*this, "norm"};
};

// Pre-norm residual sub-layers applied in order: h = h + mixer(norm(h)) for each declared
// (norm, mixer) pair — Llama's (input_layernorm, self_attn), (post_attention_layernorm, mlp);
// GPT-2's (ln_1, attn), (ln_2, mlp); Mamba2's (norm, mixer). The class name is the family's.
class ResidualBlock : public Module {
 public:
  struct Sublayer {
    Sublayer(Module& owner, const std::string& norm_name, const std::string& mixer_name)
        : norm(owner, norm_name), mixer(owner, mixer_name) {}
    Child<> norm, mixer;
  };
  explicit ResidualBlock(std::string type) : Module(std::move(type)) {}
  // Declares a sub-layer; the family sets its two children (in state_dict order).
  Sublayer& sublayer(const std::string& norm, const std::string& mixer) {
    return sublayers_.emplace_back(*this, norm, mixer);
  }
  Tensor forward(Run& run, const Tensor& h) const override;

 private:
  std::deque<Sublayer> sublayers_;  // stable addresses: Child is not movable
};

// Children "0", "1", … applied in order (nn.Sequential).
class Sequential : public ModuleList<> {
 public:
  Sequential() : ModuleList("Sequential") {}
  Tensor forward(Run& run, const Tensor& x) const override;
};

// GPT-2 / nanoGPT attention: fused c_attn (q, k, v in that order) and c_proj, set by the family
// as Conv1D or Linear; causal, scores scaled by head_dim^-0.5 (divided further by `score_divisor`:
// GPT-2's scale_attn_by_inverse_layer_idx makes it layer_idx + 1), KV cache in the run's state.
class FusedQkvAttention : public Module {
 public:
  FusedQkvAttention(std::string type, int64_t heads, int64_t head_dim, double score_divisor = 1)
      : Module(std::move(type)), heads(heads), head_dim(head_dim), score_divisor(score_divisor) {}
  Tensor forward(Run& run, const Tensor& x) const override;
  int64_t heads, head_dim;
  double score_divisor;
  Child<> c_attn{*this, "c_attn"}, c_proj{*this, "c_proj"};
  Child<Dropout> attn_dropout{*this, "attn_dropout"}, resid_dropout{*this, "resid_dropout"};
};

// out(act(in(x))), not gated, with the family's child names: GPT-2's c_fc/act/c_proj,
// Nemotron-H's up_proj/act_fn/down_proj (ReLU²), the encoder-decoder's linear1/relu/linear2.
// Dropout (identity at inference) is declared where the family has one.
class PlainMLP : public Module {
 public:
  PlainMLP(std::string type, const std::string& in_name, const std::string& act_name, const std::string& out_name,
           const std::string& dropout_name = "dropout", bool dropout_inside = false)
      : Module(std::move(type)), in(*this, in_name), act(*this, act_name), out(*this, out_name),
        dropout(*this, dropout_name), dropout_inside(dropout_inside) {}
  Tensor forward(Run& run, const Tensor& x) const override;
  bool position_wise() const override { return true; }
  Child<> in, act, out;
  Child<Dropout> dropout;
  bool dropout_inside;  // out(dropout(act(in(x)))) (the encoder-decoder) rather than dropout(out(…))
};

// The common decoder stack: embed(ids) -> layers -> norm, with the family's names
// (LlamaModel: embed_tokens, layers, norm; NemotronHModel: embeddings, layers, norm_f).
class DecoderStack : public Module {
 public:
  DecoderStack(std::string type, const std::string& embed_name, const std::string& layers_name,
               const std::string& norm_name)
      : Module(std::move(type)), embed(*this, embed_name), layers(*this, layers_name), norm(*this, norm_name) {}
  Tensor forward(Run& run, const Tensor& ids) const override;
  Child<Embedding> embed;
  Child<ModuleList<>> layers;
  Child<> norm;
};

// GPT-2-shaped stack (GPT2Model; nanoGPT's transformer ModuleDict): wte + wpe, drop, h, ln_f.
class GptStack : public Module {
 public:
  explicit GptStack(std::string type) : Module(std::move(type)) {}
  Tensor forward(Run& run, const Tensor& ids) const override;
  Child<Embedding> wte{*this, "wte"}, wpe{*this, "wpe"};
  Child<Dropout> drop{*this, "drop"};
  Child<ModuleList<>> h{*this, "h"};
  Child<LayerNorm> ln_f{*this, "ln_f"};
};

// Decoder-only LM root: base (a stack: ids -> hidden states) then the LM head. `base_name` is the
// family's ("model", "transformer", "backbone").
class CausalLM : public LanguageModel {
 public:
  CausalLM(std::string type, const std::string& base_name, int64_t vocab_size, int64_t max_positions,
           std::string positions_field)
      : LanguageModel(std::move(type), vocab_size, max_positions, std::move(positions_field)), base(*this, base_name) {}
  Child<> base;
  Child<Linear> lm_head{*this, "lm_head"};

 protected:
  Tensor forward_tokens(Run& run, const Tensor& ids) const override;
};

// Attention given q, k, v [B, T, H, hd]: appends k and v to this scope's KV cache and attends
// causally over the cached steps (within `window` positions when > 0), reading the cache in place.
// The cache keeps every step, also under a window (memory figures assume that).
Tensor cached_attention(Run& run, const Tensor& q, const Tensor& k, const Tensor& v, float scale, int64_t window = 0);

// h [B, T, …] at its last position only: [B, 1, …].
Tensor last_position(Run& run, const Tensor& h);
// The positions of h the LM head takes: the last one on a last_logits_only pass, else all.
Tensor logits_positions(Run& run, const Tensor& h);

}  // namespace anatomy::nn
