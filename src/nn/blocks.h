// Shared blocks: GQA self-attention (§3.4), gated MLP (§3.5) and the Mamba2 mixer (§3.6) of
// ARCHITECTURES.md. A family file picks the class names and options; the structure is here.
#pragma once

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
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, o_proj;
  std::shared_ptr<RMSNorm> q_norm, k_norm;  // null unless qk_norm_type is set
};

// down_proj(act(gate_proj(x)) ⊙ up_proj(x))
class GatedMLP : public Module {
 public:
  GatedMLP(std::string type, int64_t hidden, int64_t intermediate, Activation act,
           std::string act_type, bool bias);
  Tensor forward(Run& run, const Tensor& x) const override;
  std::shared_ptr<Linear> gate_proj, up_proj, down_proj;
  std::shared_ptr<ActivationModule> act_fn;
};

struct Mamba2Spec {
  std::string type;       // "Mamba2Mixer", "NemotronHMamba2Mixer", "Zamba2MambaMixer"
  std::string norm_type;  // "MambaRMSNormGated", "Zamba2RMSNormGated", ...
  int64_t hidden, heads, head_dim, state, groups, conv_kernel, chunk_size;
  bool conv_bias = true, proj_bias = false;
  double eps = 1e-5;
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
  std::shared_ptr<DepthwiseConv1d> conv1d;
  std::shared_ptr<Linear> in_proj, out_proj;
  std::shared_ptr<GatedRMSNorm> norm;
};

}  // namespace anatomy::nn

namespace anatomy::nn {

// Pre-norm residual sub-layers applied in order: h = h + mixer(norm(h)) for each (norm, mixer)
// pair of child names — Llama's (input_layernorm, self_attn), (post_attention_layernorm, mlp);
// GPT-2's (ln_1, attn), (ln_2, mlp); Mamba2's (norm, mixer). The class name is the family's.
class ResidualBlock : public Module {
 public:
  ResidualBlock(std::string type, std::vector<std::pair<std::string, std::string>> sublayers)
      : Module(std::move(type)), sublayers_(std::move(sublayers)) {}
  Tensor forward(Run& run, const Tensor& h) const override;

 private:
  std::vector<std::pair<std::string, std::string>> sublayers_;
};

// Children applied in order (nn.Sequential).
class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  Tensor forward(Run& run, const Tensor& x) const override;
};

// GPT-2 / nanoGPT attention: fused c_attn (q, k, v in that order) and c_proj, added by the
// family as Conv1D or Linear; causal, scale head_dim^-0.5, KV cache in the run's state.
class FusedQkvAttention : public Module {
 public:
  FusedQkvAttention(std::string type, int64_t heads, int64_t head_dim)
      : Module(std::move(type)), heads(heads), head_dim(head_dim) {}
  Tensor forward(Run& run, const Tensor& x) const override;
  int64_t heads, head_dim;
};

// out(act(in(x))), not gated, with the family's child names: GPT-2's c_fc/act/c_proj,
// Nemotron-H's up_proj/act_fn/down_proj (ReLU²).
class PlainMLP : public Module {
 public:
  PlainMLP(std::string type, std::string in, std::string act, std::string out)
      : Module(std::move(type)), in_(std::move(in)), act_(std::move(act)), out_(std::move(out)) {}
  Tensor forward(Run& run, const Tensor& x) const override;

 private:
  std::string in_, act_, out_;
};

// GPT-2-shaped LM root: transformer.{wte + wpe, h, ln_f}, lm_head.
class GptLM : public LanguageModel {
 public:
  using LanguageModel::LanguageModel;
  Tensor forward_ids(Run& run, const Tensor& ids) const override;
};

// [B, T] int64 positions past … past+T−1.
Tensor positions(Run& run, int64_t batch, int64_t tokens);

// Attention given q, k, v [B, T, H, hd]: appends k and v to this scope's KV cache and attends
// causally over everything cached.
Tensor cached_attention(Run& run, const Tensor& q, const Tensor& k, const Tensor& v, float scale);

// Runs the children of `list` in order as the scope `name`.
Tensor run_layers(Run& run, const std::string& name, const Module& list, Tensor h);

// The common decoder LM: base.embed(ids) -> base.layers -> base.norm -> lm_head.
struct LmNames {
  const char* base;
  const char* embed;
  const char* layers;
  const char* norm;
};
Tensor lm_forward(Run& run, const Module& root, const LmNames& names, const Tensor& ids);
// lm_head on all positions (or the last one), then advances the state by T tokens.
Tensor lm_head(Run& run, const Module& root, Tensor h);

}  // namespace anatomy::nn
