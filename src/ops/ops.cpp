#include "ops/ops.h"

#include <fmt/format.h>

#include "backend/cpu/kernels.h"
#include "core/error.h"

namespace anatomy::ops {
namespace {

[[noreturn]] void shape_error(const char* op, const std::string& msg) {
  fail(ErrorKind::shape, fmt::format("[{}] {}", op, msg));
}

void require_rank(const char* op, const Tensor& t, size_t rank, const char* what) {
  if (t.shape().size() != rank)
    shape_error(op, fmt::format("{} must have rank {}, got {}", what, rank, shape_str(t.shape())));
}

uint64_t f32_bytes(uint64_t n) { return 4 * n; }

// Leading dimensions multiplied: the "M" of a [..., K] activation.
int64_t rows(const Tensor& x) { return static_cast<int64_t>(x.numel() / static_cast<uint64_t>(x.dim(-1))); }

Shape with_last(Shape s, int64_t last) {
  s.back() = last;
  return s;
}

Cost elementwise(double flops_per_element, uint64_t elements, uint64_t read_elems) {
  return {OpClass::elementwise, flops_per_element * static_cast<double>(elements), f32_bytes(read_elems),
          f32_bytes(elements)};
}

}  // namespace

const char* op_class_name(OpClass c) {
  switch (c) {
    case OpClass::linear: return "linear";
    case OpClass::attention: return "attention";
    case OpClass::ssm: return "ssm";
    case OpClass::conv: return "conv";
    case OpClass::norm: return "norm";
    case OpClass::elementwise: return "elementwise";
    case OpClass::embedding: return "embedding";
    case OpClass::head: return "head";
  }
  return "?";
}

Tensor Context::output(Shape shape, DType dtype) const {
  return meta_ ? Tensor::meta_counted(dtype, std::move(shape), activations_) : Tensor::empty(dtype, std::move(shape));
}

Tensor embedding(const Context& c, const Tensor& weight, const Tensor& ids) {
  require_rank("embedding", weight, 2, "weight");
  require_rank("embedding", ids, 2, "ids");
  if (ids.dtype() != DType::I32 && ids.dtype() != DType::I64) shape_error("embedding", "ids must be I32 or I64");
  Tensor out = c.output({ids.dim(0), ids.dim(1), weight.dim(1)});
  // Cost: no arithmetic; one row of the table read per token.
  c.report("embedding", {OpClass::embedding, 0, ids.nbytes() + out.numel() * dtype_info(weight.dtype()).block_bytes,
                         out.nbytes()});
  if (!c.meta()) cpu::embedding(weight, ids, out);
  return out;
}

Tensor linear(const Context& c, const Tensor& x, const Tensor& w, const Tensor* bias, OpClass cls, bool w_in_out) {
  require_rank("linear", w, 2, "weight");
  const int64_t K = x.dim(-1), N = w_in_out ? w.dim(1) : w.dim(0);
  if ((w_in_out ? w.dim(0) : w.dim(1)) != K)
    shape_error("linear", fmt::format("input {} does not match weight {}{}", shape_str(x.shape()), shape_str(w.shape()),
                                      w_in_out ? " ([in, out])" : " ([out, in])"));
  if (bias && (bias->shape().size() != 1 || bias->dim(0) != N))
    shape_error("linear", fmt::format("bias {} does not match {} outputs", shape_str(bias->shape()), N));
  const int64_t M = rows(x);
  Tensor out = c.output(with_last(x.shape(), N));
  // 2·M·N·K multiply-adds counted as 2 FLOPs each; weights read once.
  c.report(cls == OpClass::head ? "lm_head" : "linear",
           {cls, 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K),
            x.nbytes() + w.nbytes(), out.nbytes()});
  if (bias) c.report("bias_add", elementwise(1, out.numel(), out.numel() + static_cast<uint64_t>(N)));
  if (!c.meta()) cpu::linear(x, w, bias, w_in_out, out);
  return out;
}

Tensor rms_norm(const Context& c, const Tensor& x, const Tensor& weight, double eps) {
  if (weight.numel() != static_cast<uint64_t>(x.dim(-1)))
    shape_error("rms_norm", fmt::format("weight {} for input {}", shape_str(weight.shape()), shape_str(x.shape())));
  Tensor out = c.output(x.shape());
  c.report("rms_norm", {OpClass::norm, 4.0 * static_cast<double>(x.numel()), x.nbytes() + weight.nbytes(), out.nbytes()});
  if (!c.meta()) cpu::rms_norm(x, weight, static_cast<float>(eps), out);
  return out;
}

Tensor layer_norm(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias, double eps) {
  if (weight.numel() != static_cast<uint64_t>(x.dim(-1)) || (bias && bias->numel() != weight.numel()))
    shape_error("layer_norm", fmt::format("weight {} for input {}", shape_str(weight.shape()), shape_str(x.shape())));
  Tensor out = c.output(x.shape());
  c.report("layer_norm", {OpClass::norm, 8.0 * static_cast<double>(x.numel()), x.nbytes() + 2 * weight.nbytes(), out.nbytes()});
  if (!c.meta()) cpu::layer_norm(x, weight, bias, static_cast<float>(eps), out);
  return out;
}

Tensor gated_rms_norm(const Context& c, const Tensor& y, const Tensor& z, const Tensor& weight, int64_t groups, double eps) {
  if (y.shape() != z.shape() || weight.numel() != static_cast<uint64_t>(y.dim(-1)) || y.dim(-1) % groups != 0)
    shape_error("gated_rms_norm", fmt::format("y {}, gate {}, weight {}, {} groups", shape_str(y.shape()),
                                              shape_str(z.shape()), shape_str(weight.shape()), groups));
  Tensor out = c.output(y.shape());
  // silu gate (1) + multiply (1) + RMS norm (4) per element.
  c.report("gated_rms_norm", {OpClass::norm, 6.0 * static_cast<double>(y.numel()), 2 * y.nbytes() + weight.nbytes(), out.nbytes()});
  if (!c.meta()) cpu::gated_rms_norm(y, z, weight, groups, static_cast<float>(eps), out);
  return out;
}

Tensor activation(const Context& c, const Tensor& x, Act act) {
  Tensor out = c.output(x.shape());
  c.report("activation", elementwise(1, x.numel(), x.numel()));
  if (!c.meta()) cpu::activation(x, static_cast<int>(act), out);
  return out;
}

namespace {
Tensor binary(const Context& c, const Tensor& a, const Tensor& b, int op, const char* name) {
  const uint64_t bn = b.numel();
  if (bn == 0 || a.numel() % bn != 0 || b.dim(-1) != a.dim(-1))
    shape_error(name, fmt::format("cannot broadcast {} to {}", shape_str(b.shape()), shape_str(a.shape())));
  Tensor out = c.output(a.shape());
  c.report(name, elementwise(1, a.numel(), a.numel() + bn));
  if (!c.meta()) cpu::binary(a, b, op, out);
  return out;
}
}  // namespace

Tensor add(const Context& c, const Tensor& a, const Tensor& b) { return binary(c, a, b, 0, "add"); }
Tensor mul(const Context& c, const Tensor& a, const Tensor& b) { return binary(c, a, b, 1, "mul"); }

Tensor slice_last(const Context& c, const Tensor& x, int64_t start, int64_t length) {
  if (start < 0 || length < 0 || start + length > x.dim(-1))
    shape_error("slice_last", fmt::format("[{}, {}) outside {}", start, start + length, shape_str(x.shape())));
  Tensor out = c.output(with_last(x.shape(), length));
  c.report("slice", {OpClass::elementwise, 0, out.nbytes(), out.nbytes()});
  if (!c.meta()) cpu::slice_last(x, start, out);
  return out;
}

Tensor concat_last(const Context& c, const Tensor& a, const Tensor& b) {
  if (a.shape().size() != b.shape().size() || rows(a) != rows(b))
    shape_error("concat_last", fmt::format("{} and {}", shape_str(a.shape()), shape_str(b.shape())));
  Tensor out = c.output(with_last(a.shape(), a.dim(-1) + b.dim(-1)));
  c.report("concat", {OpClass::elementwise, 0, out.nbytes(), out.nbytes()});
  if (!c.meta()) cpu::concat_last(a, b, out);
  return out;
}

Tensor rope(const Context& c, const Tensor& x, const std::vector<float>& inv_freq, int64_t past) {
  require_rank("rope", x, 4, "x [B, T, H, hd]");
  if (static_cast<int64_t>(inv_freq.size()) * 2 != x.dim(3))
    shape_error("rope", fmt::format("{} frequencies for head dim {}", inv_freq.size(), x.dim(3)));
  Tensor out = c.output(x.shape());
  c.report("rope", elementwise(3, x.numel(), x.numel()));
  if (!c.meta()) cpu::rope(x, inv_freq, past, out);
  return out;
}

Tensor attention(const Context& c, const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& o) {
  require_rank("attention", q, 4, "q [B, T, Hq, hd]");
  require_rank("attention", k, 4, "k [B, Tk, Hkv, hd]");
  const int64_t B = q.dim(0), T = q.dim(1), Hq = q.dim(2), hd = q.dim(3), Tk = k.dim(1), Hkv = k.dim(2);
  if (k.shape() != v.shape() || k.dim(0) != B || k.dim(3) != hd || Hq % Hkv != 0)
    shape_error("attention", fmt::format("q {}, k {}, v {}", shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape())));
  if (o.causal && o.past + T > Tk)
    shape_error("attention", fmt::format("{} queries after {} cached need {} keys, got {}", T, o.past, o.past + T, Tk));
  if (o.key_padding && (o.key_padding->dim(0) != B || o.key_padding->dim(1) != Tk))
    shape_error("attention", fmt::format("key padding {} for keys {}", shape_str(o.key_padding->shape()), shape_str(k.shape())));
  Tensor out = c.output({B, T, Hq * hd});
  // Full rectangle T × Tk (what dense kernels compute), §2 default; GQA does not reduce it.
  const double rect = static_cast<double>(B) * static_cast<double>(Hq) * static_cast<double>(T) * static_cast<double>(Tk);
  c.report("attention_scores", {OpClass::attention, 2.0 * rect * static_cast<double>(hd), q.nbytes() + k.nbytes(), 0});
  c.report("softmax", {OpClass::elementwise, 5.0 * rect, 0, 0});
  c.report("attention_values", {OpClass::attention, 2.0 * rect * static_cast<double>(hd), v.nbytes(), out.nbytes()});
  if (o.query_padding && (o.query_padding->dim(0) != B || o.query_padding->dim(1) != T))
    shape_error("attention", fmt::format("query padding {} for queries {}", shape_str(o.query_padding->shape()), shape_str(q.shape())));
  if (!c.meta()) cpu::attention(q, k, v, o.scale, o.causal, o.past, o.masked_value, o.key_padding, o.query_padding, out);
  return out;
}

Tensor causal_conv1d(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias, Tensor& state) {
  require_rank("causal_conv1d", x, 3, "x [B, T, C]");
  const int64_t B = x.dim(0), T = x.dim(1), C = x.dim(2);
  if (weight.shape().size() != 3 || weight.dim(0) != C || weight.dim(1) != 1)
    shape_error("causal_conv1d", fmt::format("weight {} for {} channels", shape_str(weight.shape()), C));
  const int64_t K = weight.dim(2);
  if (state.shape() != Shape{B, C, K - 1})
    shape_error("causal_conv1d", fmt::format("state {} (expected {})", shape_str(state.shape()), shape_str({B, C, K - 1})));
  Tensor out = c.output(x.shape());
  // Depthwise: 2·B·T·C·K, not a dense C×C convolution.
  c.report("conv1d", {OpClass::conv, 2.0 * static_cast<double>(B * T * C * K), x.nbytes() + weight.nbytes(), out.nbytes()});
  if (bias) c.report("bias_add", elementwise(1, out.numel(), out.numel()));
  if (!c.meta()) cpu::causal_conv1d(x, weight, bias, state, out);
  return out;
}

Tensor ssm_scan(const Context& c, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                const Tensor& Cm, const Tensor& D, Tensor& state) {
  require_rank("ssm_scan", x, 4, "x [B, T, H, P]");
  const int64_t B = x.dim(0), T = x.dim(1), H = x.dim(2), P = x.dim(3);
  require_rank("ssm_scan", Bm, 4, "B [B, T, G, N]");
  const int64_t G = Bm.dim(2), N = Bm.dim(3);
  if (dt.shape() != Shape{B, T, H} || A.numel() != static_cast<uint64_t>(H) || D.numel() != static_cast<uint64_t>(H) ||
      Cm.shape() != Bm.shape() || Bm.dim(0) != B || Bm.dim(1) != T || H % G != 0 || state.shape() != Shape{B, H, P, N})
    shape_error("ssm_scan", fmt::format("x {}, dt {}, A {}, B {}, C {}, D {}, state {}", shape_str(x.shape()),
                                        shape_str(dt.shape()), shape_str(A.shape()), shape_str(Bm.shape()),
                                        shape_str(Cm.shape()), shape_str(D.shape()), shape_str(state.shape())));
  Tensor out = c.output(x.shape());
  // Recurrent form per token and head: dt·x (P), decay (P·N), + dt·x⊗B (2PN), S·C (2PN), + D·x (2P).
  c.report("ssm_scan", {OpClass::ssm, static_cast<double>(B * T * H) * (5.0 * static_cast<double>(P * N) + 3.0 * static_cast<double>(P)),
                        x.nbytes() + 2 * Bm.nbytes() + dt.nbytes() + state.nbytes(), out.nbytes() + state.nbytes()});
  if (!c.meta()) cpu::ssm_scan(x, dt, A, Bm, Cm, D, state, out);
  return out;
}

void write_time(const Context& c, Tensor& dst, const Tensor& src, int64_t at) {
  if (dst.shape().size() != src.shape().size() || dst.dim(0) != src.dim(0) || at + src.dim(1) > dst.dim(1))
    shape_error("write_time", fmt::format("{} at step {} into {}", shape_str(src.shape()), at, shape_str(dst.shape())));
  c.report("cache_write", {OpClass::elementwise, 0, src.nbytes(), src.nbytes()});
  if (!c.meta()) cpu::write_time(dst, src, at);
}

Tensor slice_time(const Context& c, const Tensor& src, int64_t start, int64_t length) {
  if (src.shape().size() < 2 || start < 0 || length < 0 || start + length > src.dim(1))
    shape_error("slice_time", fmt::format("steps [{}, {}) of {}", start, start + length, shape_str(src.shape())));
  Shape s = src.shape();
  s[1] = length;
  Tensor out = c.output(s);
  c.report("slice_time", {OpClass::elementwise, 0, out.nbytes(), out.nbytes()});
  if (!c.meta()) cpu::slice_time(src, start, out);
  return out;
}

Tensor sinusoid_table(const Context& c, int64_t tokens, int64_t dim) {
  Tensor out = c.output({tokens, dim});
  c.report("position_table", {OpClass::embedding, 0, 0, out.nbytes()});
  if (!c.meta()) cpu::sinusoid_table(out);
  return out;
}

Tensor neg_exp(const Context& c, const Tensor& x) {
  Tensor out = c.output(x.shape());
  c.report("neg_exp", elementwise(1, x.numel(), x.numel()));
  if (!c.meta()) cpu::neg_exp(x, out);
  return out;
}

}  // namespace anatomy::ops
