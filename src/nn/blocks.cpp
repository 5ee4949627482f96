#include "nn/blocks.h"

namespace anatomy::nn {

Attention::Attention(const AttentionSpec& s) : Module(s.type), spec(s) {
  q_proj = add("q_proj", std::make_shared<Linear>(s.input_width, s.heads * s.head_dim, s.qkv_bias));
  k_proj = add("k_proj", std::make_shared<Linear>(s.input_width, s.kv_heads * s.head_dim, s.qkv_bias));
  v_proj = add("v_proj", std::make_shared<Linear>(s.input_width, s.kv_heads * s.head_dim, s.qkv_bias));
  o_proj = add("o_proj", std::make_shared<Linear>(s.heads * s.head_dim, s.output_width, s.o_bias));
  if (!s.qk_norm_type.empty()) {
    q_norm = add("q_norm", std::make_shared<RMSNorm>(s.head_dim, s.norm_eps, s.qk_norm_type));
    k_norm = add("k_norm", std::make_shared<RMSNorm>(s.head_dim, s.norm_eps, s.qk_norm_type));
  }
}

GatedMLP::GatedMLP(std::string type, int64_t hidden, int64_t intermediate, Activation act,
                   std::string act_type, bool bias)
    : Module(std::move(type)) {
  gate_proj = add("gate_proj", std::make_shared<Linear>(hidden, intermediate, bias));
  up_proj = add("up_proj", std::make_shared<Linear>(hidden, intermediate, bias));
  down_proj = add("down_proj", std::make_shared<Linear>(intermediate, hidden, bias));
  act_fn = add("act_fn", std::make_shared<ActivationModule>(act, std::move(act_type)));
}

// Registration order follows transformers' Mamba2Mixer, so the state_dict order matches.
Mamba2Mixer::Mamba2Mixer(const Mamba2Spec& s) : Module(s.type), spec(s) {
  conv1d = add("conv1d", std::make_shared<DepthwiseConv1d>(s.conv_dim(), s.conv_kernel, s.conv_bias));
  add("act", std::make_shared<ActivationModule>(Activation::silu, "SiLU"));
  in_proj = add("in_proj", std::make_shared<Linear>(s.hidden, s.in_proj_width(), s.proj_bias));
  dt_bias = add_param("dt_bias", {s.heads});
  A_log = add_param("A_log", {s.heads});
  norm = add("norm", std::make_shared<GatedRMSNorm>(s.d_inner(), s.groups, s.eps, s.norm_type));
  D = add_param("D", {s.heads});
  out_proj = add("out_proj", std::make_shared<Linear>(s.d_inner(), s.hidden, s.proj_bias));
}

}  // namespace anatomy::nn
