#include "nn/blocks.h"

#include <cmath>

namespace anatomy::nn {
namespace {

// x through each projection (nn.Linear children reading x), as one GEMM where the backend fuses
// them (ops::fuses_linears): then one scope named by the projections' names joined, "q_proj+k_proj+
// v_proj", whose output is shown as their widths side by side (no such tensor is made); otherwise
// each projection as its own scope.
std::vector<Tensor> project(Run& run, const Tensor& x, std::initializer_list<const Child<Linear>*> projections) {
  std::vector<Tensor> ws, outs;
  std::vector<const Tensor*> biases;
  std::string name;
  int64_t width = 0;
  for (const Child<Linear>* p : projections) {
    ws.push_back((*p)->weight->value);
    biases.push_back((*p)->bias ? &(*p)->bias->value : nullptr);
    name += (name.empty() ? "" : "+") + p->name();
    width += (*p)->out_features;
  }
  if (!ops::fuses_linears(run.ctx, x, ws)) {
    for (const Child<Linear>* p : projections) outs.push_back((*p)(run, x));
    return outs;
  }
  run.scope(name, (*projections.begin())->get(), x, [&] {
    outs = ops::linear_group(run.ctx, x, ws, biases);
    Shape shown = x.shape();
    shown.back() = width;
    return Tensor::meta(DType::F32, shown);
  });
  return outs;
}

// The layers in order. A pass that wants the last position's logits alone needs nothing else of
// the last layer's position-wise sublayers (its MLP), so they run on that position only, as
// llama.cpp's graphs do; its attention or Mamba mixer still runs every position, for the caches
// and states.
Tensor run_layers(Run& run, const Child<ModuleList<>>& layers, const Tensor& x) {
  const Module* last = layers->size() ? &layers->at(layers->size() - 1) : nullptr;
  return layers->run_each(run, layers.name(), x, [&](const Module& layer, const Tensor& h) {
    if (!run.last_logits_only || &layer != last) return layer.forward(run, h);
    run.last_position_only = true;
    const struct Clear {  // on every exit, an error's included
      Run& r;
      ~Clear() { r.last_position_only = false; }
    } clear{run};
    return layer.forward(run, h);
  });
}

}  // namespace

Attention::Attention(const AttentionSpec& s) : Module(s.type), spec(s) {
  q_proj.set(std::make_shared<Linear>(s.input_width, s.heads * s.head_dim, s.qkv_bias));
  k_proj.set(std::make_shared<Linear>(s.input_width, s.kv_heads * s.head_dim, s.qkv_bias));
  v_proj.set(std::make_shared<Linear>(s.input_width, s.kv_heads * s.head_dim, s.qkv_bias));
  o_proj.set(std::make_shared<Linear>(s.heads * s.head_dim, s.output_width, s.o_bias));
  if (!s.qk_norm_type.empty()) {
    q_norm.set(std::make_shared<RMSNorm>(s.head_dim, s.norm_eps, s.qk_norm_type));
    k_norm.set(std::make_shared<RMSNorm>(s.head_dim, s.norm_eps, s.qk_norm_type));
  }
  for (double f : rope_inv_freq(s.rope)) inv_freq.push_back(static_cast<float>(f));
}

Tensor Attention::attend(Run& run, const Tensor& x, const Tensor* dq, const Tensor* dk, const Tensor* dv) const {
  const auto& c = run.ctx;
  const int64_t B = x.dim(0), T = x.dim(1), past = run.state.past;
  std::vector<Tensor> qkv = project(run, x, {&q_proj, &k_proj, &v_proj});
  auto heads_of = [&](Tensor y, const Tensor* delta, int64_t heads) {
    if (delta) y = ops::add(c, y, *delta);
    return y.reshape({B, T, heads, spec.head_dim});  // heads are contiguous slices (§3.4)
  };
  Tensor q = heads_of(qkv[0], dq, spec.heads);     // (B, T, Hq, hd)
  Tensor k = heads_of(qkv[1], dk, spec.kv_heads);  // (B, T, Hkv, hd)
  Tensor v = heads_of(qkv[2], dv, spec.kv_heads);
  if (q_norm) {
    q = q_norm(run, q);
    k = k_norm(run, k);
  }
  if (spec.rope.dim > 0) {
    q = ops::rope(c, q, inv_freq, past);
    k = ops::rope(c, k, inv_freq, past);
  }
  const double scale = spec.scale > 0 ? spec.scale : 1.0 / std::sqrt(static_cast<double>(spec.head_dim));
  return o_proj(run, cached_attention(run, q, k, v, static_cast<float>(scale), spec.sliding_window));
}

GatedMLP::GatedMLP(std::string type, int64_t hidden, int64_t intermediate, Activation act,
                   std::string act_type, bool bias)
    : Module(std::move(type)) {
  gate_proj.set(std::make_shared<Linear>(hidden, intermediate, bias));
  up_proj.set(std::make_shared<Linear>(hidden, intermediate, bias));
  down_proj.set(std::make_shared<Linear>(intermediate, hidden, bias));
  act_fn.set(std::make_shared<ActivationModule>(act, std::move(act_type)));
}

// Without biases, gate and up run as one GEMM where the backend fuses them, the activation and the
// product in its epilogue: one scope "gate_proj+up_proj" holding all three.
Tensor GatedMLP::forward(Run& run, const Tensor& x) const {
  const Activation act = act_fn->kind;
  const std::vector<Tensor> ws{gate_proj->weight->value, up_proj->weight->value};
  if (!gate_proj->bias && !up_proj->bias && ops::fuses_linears(run.ctx, x, ws, act)) {
    const Tensor h = run.scope(gate_proj.name() + "+" + up_proj.name(), gate_proj.get(), x,  // (B, T, intermediate)
                               [&] { return ops::gated_linear(run.ctx, x, ws[0], ws[1], act); });
    return down_proj(run, h);
  }
  const Tensor gate = act_fn(run, gate_proj(run, x));
  return down_proj(run, ops::mul(run.ctx, gate, up_proj(run, x)));
}

// Registration order follows transformers' Mamba2Mixer, so the state_dict order matches.
Mamba2Mixer::Mamba2Mixer(const Mamba2Spec& s) : Module(s.type), spec(s) {
  conv1d.set(std::make_shared<DepthwiseConv1d>(s.conv_dim(), s.conv_kernel, s.conv_bias));
  act.set(std::make_shared<ActivationModule>(s.conv_act, s.conv_act == Activation::silu ? "SiLU" : activation_name(s.conv_act)));
  in_proj.set(std::make_shared<Linear>(s.hidden, s.in_proj_width(), s.proj_bias));
  dt_bias = add_param("dt_bias", {s.heads});
  A_log = add_param("A_log", {s.heads});
  norm.set(std::make_shared<GatedRMSNorm>(s.d_inner(), s.groups, s.eps, s.norm_type));
  D = add_param("D", {s.heads});
  out_proj.set(std::make_shared<Linear>(s.d_inner(), s.hidden, s.proj_bias));
}

// §3.6: in_proj -> [z | xBC | dt]; causal conv + SiLU on xBC; split x, B, C; selective scan with
// dt = softplus(dt + dt_bias) and A = -exp(A_log); gated grouped RMSNorm with z; out_proj.
Tensor Mamba2Mixer::forward(Run& run, const Tensor& u) const {
  const auto& c = run.ctx;
  const Mamba2Spec& s = spec;
  const int64_t B = u.dim(0), T = u.dim(1), GN = s.groups * s.state;
  const Tensor zxbcdt = in_proj(run, u);                                          // (B, T, 2·D_in + 2GN + H)
  const Tensor z = ops::slice_last(c, zxbcdt, 0, s.d_inner());
  Tensor xbc = ops::slice_last(c, zxbcdt, s.d_inner(), s.conv_dim());
  Tensor dt = ops::slice_last(c, zxbcdt, s.d_inner() + s.conv_dim(), s.heads);
  xbc = act(run, conv1d(run, xbc));                                               // (B, T, conv_dim)
  const Tensor x = ops::slice_last(c, xbc, 0, s.d_inner()).reshape({B, T, s.heads, s.head_dim});
  const Tensor Bm = ops::slice_last(c, xbc, s.d_inner(), GN).reshape({B, T, s.groups, s.state});
  const Tensor Cm = ops::slice_last(c, xbc, s.d_inner() + GN, GN).reshape({B, T, s.groups, s.state});
  dt = ops::activation(c, ops::add(c, dt, dt_bias->value), Activation::softplus);  // (B, T, H)
  if (s.dt_min > 0 || s.dt_max > 0)
    dt = ops::clamp(c, dt, static_cast<float>(s.dt_min), s.dt_max > 0 ? static_cast<float>(s.dt_max) : INFINITY);
  const Tensor A = ops::neg_exp(c, A_log->value);
  Tensor& state = run.state_tensor(kSsmState, {B, s.heads, s.head_dim, s.state});
  const Tensor y = ops::ssm_scan(c, x, dt, A, Bm, Cm, D->value, state).reshape({B, T, s.d_inner()});
  return out_proj(run, norm->call(run, norm.name(), y, z));
}

Tensor cached_attention(Run& run, const Tensor& q, const Tensor& k, const Tensor& v, float scale, int64_t window) {
  const auto& c = run.ctx;
  const int64_t B = q.dim(0), T = q.dim(1), past = run.state.past;
  ops::AttentionOptions o;
  o.scale = scale;
  o.past = past;
  o.keys = past + T;
  o.window = window;
  // A recorded pass (training) runs whole sequences and nothing reads its cache afterwards: it
  // attends over k and v as they are, without zeroing a cache, copying into it and back.
  if (c.tape() && past == 0) return ops::attention(c, q, k, v, o);
  // Cached keys are stored rotated; the cache spans the state's whole token budget and is read
  // in place up to the current length.
  const Shape cache{B, run.state.max_tokens, k.dim(2), k.dim(3)};
  Tensor& k_cache = run.state_tensor(kKCache, cache);
  Tensor& v_cache = run.state_tensor(kVCache, cache);
  ops::write_time(c, k_cache, k, past);
  ops::write_time(c, v_cache, v, past);
  return ops::attention(c, q, k_cache, v_cache, o);
}

Tensor ResidualBlock::forward(Run& run, const Tensor& x) const {
  Tensor h = x;
  for (const Sublayer& s : sublayers_) {
    if (run.last_position_only && s.mixer->position_wise() && h.dim(1) > 1) h = last_position(run, h);
    h = ops::add(run.ctx, h, s.mixer(run, s.norm(run, h)));
  }
  return h;
}

Tensor Sequential::forward(Run& run, const Tensor& x) const {
  Tensor h = x;
  for (size_t i = 0; i < size(); ++i) h = at(i).call(run, name_at(i), h);
  return h;
}

Tensor FusedQkvAttention::forward(Run& run, const Tensor& x) const {
  const auto& c = run.ctx;
  const int64_t B = x.dim(0), T = x.dim(1), C = heads * head_dim;
  const Tensor qkv = c_attn(run, x);  // (B, T, 3C)
  auto part = [&](int i) { return ops::slice_last(c, qkv, i * C, C).reshape({B, T, heads, head_dim}); };
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim)) / score_divisor;
  const Tensor y = cached_attention(run, part(0), part(1), part(2), static_cast<float>(scale));
  return apply_dropout(run, resid_dropout, c_proj(run, y));
}

Tensor PlainMLP::forward(Run& run, const Tensor& x) const {
  Tensor h = act(run, in(run, x));
  if (dropout_inside) return out(run, apply_dropout(run, dropout, h));
  return apply_dropout(run, dropout, out(run, h));
}

Tensor DecoderStack::forward(Run& run, const Tensor& ids) const {
  const Tensor x = embed(run, ids);
  return norm(run, run_layers(run, layers, x));
}

Tensor GptStack::forward(Run& run, const Tensor& ids) const {
  const Tensor tok = wte(run, ids);
  const Tensor pos = wpe(run, ops::positions(run.ctx, ids.dim(0), ids.dim(1), run.state.past));
  const Tensor x = apply_dropout(run, drop, ops::add(run.ctx, tok, pos));
  return ln_f(run, run_layers(run, h, x));
}

// The LM head, then the state advances by every token of ids (the stack may have kept only the
// last position already).
Tensor CausalLM::forward_tokens(Run& run, const Tensor& ids) const {
  const Tensor logits = lm_head(run, logits_positions(run, base(run, ids)));
  run.state.past += ids.dim(1);
  return logits;
}

Tensor last_position(Run& run, const Tensor& h) { return ops::slice_time(run.ctx, h, h.dim(1) - 1, 1); }

Tensor logits_positions(Run& run, const Tensor& h) {
  return run.last_logits_only && h.dim(1) > 1 ? last_position(run, h) : h;
}

}  // namespace anatomy::nn
