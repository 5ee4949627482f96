#include "nn/blocks.h"

#include <cmath>

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
  for (double f : rope_inv_freq(s.rope)) inv_freq.push_back(static_cast<float>(f));
}

Tensor Attention::attend(Run& run, const Tensor& x, const Tensor* dq, const Tensor* dk, const Tensor* dv) const {
  const auto& c = run.ctx;
  const int64_t B = x.dim(0), T = x.dim(1), past = run.state.past;
  auto project = [&](const std::shared_ptr<Linear>& proj, const char* name, const Tensor* delta, int64_t heads) {
    Tensor y = proj->call(run, name, x);
    if (delta) y = ops::add(c, y, *delta);
    return y.reshape({B, T, heads, spec.head_dim});  // heads are contiguous slices (§3.4)
  };
  Tensor q = project(q_proj, "q_proj", dq, spec.heads);
  Tensor k = project(k_proj, "k_proj", dk, spec.kv_heads);
  Tensor v = project(v_proj, "v_proj", dv, spec.kv_heads);
  if (q_norm) {
    q = q_norm->call(run, "q_norm", q);
    k = k_norm->call(run, "k_norm", k);
  }
  if (spec.rope.dim > 0) {
    q = ops::rope(c, q, inv_freq, past);
    k = ops::rope(c, k, inv_freq, past);
  }
  const double scale = spec.scale > 0 ? spec.scale : 1.0 / std::sqrt(static_cast<double>(spec.head_dim));
  return o_proj->call(run, "o_proj", cached_attention(run, q, k, v, static_cast<float>(scale)));
}

GatedMLP::GatedMLP(std::string type, int64_t hidden, int64_t intermediate, Activation act,
                   std::string act_type, bool bias)
    : Module(std::move(type)) {
  gate_proj = add("gate_proj", std::make_shared<Linear>(hidden, intermediate, bias));
  up_proj = add("up_proj", std::make_shared<Linear>(hidden, intermediate, bias));
  down_proj = add("down_proj", std::make_shared<Linear>(intermediate, hidden, bias));
  act_fn = add("act_fn", std::make_shared<ActivationModule>(act, std::move(act_type)));
}

Tensor GatedMLP::forward(Run& run, const Tensor& x) const {
  const Tensor gate = act_fn->call(run, "act_fn", gate_proj->call(run, "gate_proj", x));
  return down_proj->call(run, "down_proj", ops::mul(run.ctx, gate, up_proj->call(run, "up_proj", x)));
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

namespace anatomy::nn {

// §3.6: in_proj -> [z | xBC | dt]; causal conv + SiLU on xBC; split x, B, C; selective scan with
// dt = softplus(dt + dt_bias) and A = -exp(A_log); gated grouped RMSNorm with z; out_proj.
Tensor Mamba2Mixer::forward(Run& run, const Tensor& u) const {
  const auto& c = run.ctx;
  const Mamba2Spec& s = spec;
  const int64_t B = u.dim(0), T = u.dim(1), GN = s.groups * s.state;
  const Tensor zxbcdt = in_proj->call(run, "in_proj", u);                       // (B, T, 2·D_in + 2GN + H)
  const Tensor z = ops::slice_last(c, zxbcdt, 0, s.d_inner());
  Tensor xbc = ops::slice_last(c, zxbcdt, s.d_inner(), s.conv_dim());
  Tensor dt = ops::slice_last(c, zxbcdt, s.d_inner() + s.conv_dim(), s.heads);
  xbc = child("act")->call(run, "act", conv1d->call(run, "conv1d", xbc));       // (B, T, conv_dim)
  const Tensor x = ops::slice_last(c, xbc, 0, s.d_inner()).reshape({B, T, s.heads, s.head_dim});
  const Tensor Bm = ops::slice_last(c, xbc, s.d_inner(), GN).reshape({B, T, s.groups, s.state});
  const Tensor Cm = ops::slice_last(c, xbc, s.d_inner() + GN, GN).reshape({B, T, s.groups, s.state});
  dt = ops::activation(c, ops::add(c, dt, dt_bias->value), ops::Act::softplus);  // (B, T, H)
  const Tensor A = ops::neg_exp(c, A_log->value);
  Tensor& state = run.state_tensor(kSsmState, {B, s.heads, s.head_dim, s.state});
  const Tensor y = ops::ssm_scan(c, x, dt, A, Bm, Cm, D->value, state).reshape({B, T, s.d_inner()});
  return out_proj->call(run, "out_proj", norm->call(run, "norm", y, z));
}

}  // namespace anatomy::nn

namespace anatomy::nn {

Tensor cached_attention(Run& run, const Tensor& q, const Tensor& k, const Tensor& v, float scale) {
  const auto& c = run.ctx;
  const int64_t B = q.dim(0), T = q.dim(1), past = run.state.past;
  // Cached keys are stored rotated; the cache spans the state's whole token budget.
  const Shape cache{B, run.state.max_tokens, k.dim(2), k.dim(3)};
  Tensor& k_cache = run.state_tensor(kKCache, cache);
  Tensor& v_cache = run.state_tensor(kVCache, cache);
  ops::write_time(c, k_cache, k, past);
  ops::write_time(c, v_cache, v, past);
  ops::AttentionOptions o;
  o.scale = scale;
  o.past = past;
  return ops::attention(c, q, ops::slice_time(c, k_cache, 0, past + T), ops::slice_time(c, v_cache, 0, past + T), o);
}

Tensor ResidualBlock::forward(Run& run, const Tensor& x) const {
  Tensor h = x;
  for (const auto& [norm, mixer] : sublayers_)
    h = ops::add(run.ctx, h, child(mixer)->call(run, mixer, child(norm)->call(run, norm, h)));
  return h;
}

Tensor Sequential::forward(Run& run, const Tensor& x) const {
  Tensor h = x;
  for (const auto& [n, c] : children()) h = c->call(run, n, h);
  return h;
}

Tensor FusedQkvAttention::forward(Run& run, const Tensor& x) const {
  const auto& c = run.ctx;
  const int64_t B = x.dim(0), T = x.dim(1), C = heads * head_dim;
  const Tensor qkv = child("c_attn")->call(run, "c_attn", x);  // (B, T, 3C)
  auto part = [&](int i) { return ops::slice_last(c, qkv, i * C, C).reshape({B, T, heads, head_dim}); };
  const Tensor y = cached_attention(run, part(0), part(1), part(2),
                                    static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim))));
  return child("c_proj")->call(run, "c_proj", y);
}

Tensor PlainMLP::forward(Run& run, const Tensor& x) const {
  const Tensor a = child(act_)->call(run, act_, child(in_)->call(run, in_, x));
  return child(out_)->call(run, out_, a);
}

Tensor positions(Run& run, int64_t batch, int64_t tokens) {
  Tensor p = run.ctx.output({batch, tokens}, DType::I64);
  if (!run.ctx.meta())
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < tokens; ++t) p.data<int64_t>()[b * tokens + t] = run.state.past + t;
  return p;
}

Tensor GptLM::forward_ids(Run& run, const Tensor& ids) const {
  const Module& tr = *child("transformer");
  Tensor h = run.scope("transformer", tr, ids, [&] {
    const Tensor tok = tr.child("wte")->call(run, "wte", ids);
    const Tensor pos = tr.child("wpe")->call(run, "wpe", positions(run, ids.dim(0), ids.dim(1)));
    Tensor x = tr.child("drop")->call(run, "drop", ops::add(run.ctx, tok, pos));
    x = run_layers(run, "h", *tr.child("h"), x);
    return tr.child("ln_f")->call(run, "ln_f", x);
  });
  return lm_head(run, *this, h);
}

Tensor run_layers(Run& run, const std::string& name, const Module& list, Tensor h) {
  return run.scope(name, list, h, [&] {
    for (const auto& [n, layer] : list.children()) h = layer->call(run, n, h);
    return h;
  });
}

Tensor lm_forward(Run& run, const Module& root, const LmNames& names, const Tensor& ids) {
  const Module& base = *root.child(names.base);
  Tensor h = run.scope(names.base, base, ids, [&] {
    Tensor x = base.child(names.embed)->call(run, names.embed, ids);
    x = run_layers(run, names.layers, *base.child(names.layers), x);
    return base.child(names.norm)->call(run, names.norm, x);
  });
  return lm_head(run, root, h);
}

Tensor lm_head(Run& run, const Module& root, Tensor h) {
  const int64_t T = h.dim(1);
  if (run.last_logits_only && T > 1) h = ops::slice_time(run.ctx, h, T - 1, 1);
  Tensor logits = root.child("lm_head")->call(run, "lm_head", h);
  run.state.past += T;
  return logits;
}

}  // namespace anatomy::nn
