#include "ops/attention.h"

#include "ops/check.h"

namespace anatomy::ops {
using namespace detail;

Tensor rope(const Context& c, const Tensor& x, const std::vector<float>& inv_freq, int64_t past) {
  require_rank("rope", x, 4, "x [B, T, H, hd]");
  if (static_cast<int64_t>(inv_freq.size()) * 2 != x.dim(3))
    shape_error("rope", fmt::format("{} frequencies for head dim {}", inv_freq.size(), x.dim(3)));
  Tensor out = c.output(x.shape());
  c.report("rope", elementwise(3, x.numel(), x.numel()));
  c.backend().rope(x, inv_freq, past, out);
  if (Tape* tape = c.tape())
    tape->record("rope", {out}, [x, inv_freq, past, out](Tape& g) {
      Tensor dx = g.grad(x);
      g.backend().rope_backward(g.grad(out), inv_freq, past, dx);
    });
  return out;
}

namespace {

// Probabilities kept per (batch, head) for the backward pass at most (T × keys: 1024 × 1024).
constexpr int64_t kKeptProbabilities = 1 << 20;

void check_masks(const Tensor& q, int64_t keys, const AttentionOptions& o) {
  const int64_t B = q.dim(0), T = q.dim(1);
  if (o.key_padding && (o.key_padding->shape().size() != 2 || o.key_padding->dim(0) != B || o.key_padding->dim(1) != keys))
    shape_error("attention", fmt::format("key padding {} for {} keys", shape_str(o.key_padding->shape()), keys));
  if (o.query_padding && (o.query_padding->shape().size() != 2 || o.query_padding->dim(0) != B || o.query_padding->dim(1) != T))
    shape_error("attention", fmt::format("query padding {} for queries {}", shape_str(o.query_padding->shape()), shape_str(q.shape())));
}

}  // namespace

Tensor attention(const Context& c, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o) {
  require_rank("attention", q, 4, "q [B, T, Hq, hd]");
  require_rank("attention", k, 4, "k [B, Tk, Hkv, hd]");
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Hkv = k.dim(2);
  const int64_t keys = o.keys > 0 ? o.keys : k.dim(1);
  if (k.shape() != v.shape() || k.dim(0) != B || k.dim(3) != hd || Hkv < 1 || Hq % Hkv != 0 || keys > k.dim(1))
    shape_error("attention", fmt::format("q {}, k {}, v {}, {} keys", shape_str(q.shape()), shape_str(k.shape()),
                                         shape_str(v.shape()), keys));
  if (o.causal && o.past + T > keys)
    shape_error("attention", fmt::format("{} queries after {} cached need {} keys, got {}", T, o.past, o.past + T, keys));
  check_masks(q, keys, o);
  if (o.window < 0) shape_error("attention", fmt::format("window {} is negative", o.window));
  Tensor out = c.output({B, T, Hq * hd});
  // Full rectangle T × keys (what dense kernels compute), §2 default; GQA does not reduce it.
  const double rect = static_cast<double>(B) * static_cast<double>(Hq) * static_cast<double>(T) * static_cast<double>(keys);
  const uint64_t kv_bytes = static_cast<uint64_t>(B * keys * Hkv * hd) * dtype_info(k.dtype()).block_bytes;
  c.report("attention_scores", {OpClass::attention, 2.0 * rect * static_cast<double>(hd), q.nbytes() + kv_bytes, 0});
  c.report("softmax", {OpClass::elementwise, 5.0 * rect, 0, 0});
  c.report("attention_values", {OpClass::attention, 2.0 * rect * static_cast<double>(hd), kv_bytes, out.nbytes()});
  backend::AttentionArgs args{.scale = o.scale, .causal = o.causal, .past = o.past, .keys = keys,
                              .window = o.window, .masked_value = o.masked_value, .key_padding = o.key_padding,
                              .query_padding = o.query_padding};
  // Training keeps the softmax probabilities for the backward pass, as PyTorch's eager attention
  // does, up to kKeptProbabilities per head (beyond, the backward pass recomputes them).
  Tensor probabilities;
  if (c.tape() && T * keys <= kKeptProbabilities && c.backend().keeps_attention_probabilities(q)) {
    probabilities = c.backend().allocate(DType::F32, {B, Hq, T, keys});
    args.probabilities = &probabilities;
  }
  c.backend().attention(q, k, v, args, out);
  if (Tape* tape = c.tape())
    tape->record("attention", {out}, [q, k, v, args, kp = keep(o.key_padding), qp = keep(o.query_padding), out,
                                      probabilities](Tape& g) {
      backend::AttentionArgs a = args;  // the masks and probabilities as kept by this step
      a.key_padding = kp ? &*kp : nullptr;
      a.query_padding = qp ? &*qp : nullptr;
      a.probabilities = args.probabilities ? &probabilities : nullptr;
      Tensor dq = g.grad(q), dk = g.grad(k), dv = g.grad(v);
      g.backend().attention_backward(q, k, v, a, g.grad(out), dq, dk, dv);
    });
  return out;
}

}  // namespace anatomy::ops
