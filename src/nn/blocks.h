// Shared blocks: GQA self-attention (§3.4), gated MLP (§3.5) and the Mamba2 mixer (§3.6) of
// ARCHITECTURES.md. A family file picks the class names and options; the structure is here.
#pragma once

#include <string>

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
};

class Attention : public Module {
 public:
  explicit Attention(const AttentionSpec& spec);
  AttentionSpec spec;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, o_proj;
  std::shared_ptr<RMSNorm> q_norm, k_norm;  // null unless qk_norm_type is set
};

// down_proj(act(gate_proj(x)) ⊙ up_proj(x))
class GatedMLP : public Module {
 public:
  GatedMLP(std::string type, int64_t hidden, int64_t intermediate, Activation act,
           std::string act_type, bool bias);
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
  Mamba2Spec spec;
  std::shared_ptr<Parameter> dt_bias, A_log, D;
  std::shared_ptr<DepthwiseConv1d> conv1d;
  std::shared_ptr<Linear> in_proj, out_proj;
  std::shared_ptr<GatedRMSNorm> norm;
};

}  // namespace anatomy::nn
