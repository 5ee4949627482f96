// The CPU backend: the op seam (backend/backend.h) bound to the CPU kernels (kernels.h), which
// dispatch to their AVX2 fast paths. Tensors live in 64-byte aligned heap memory or mapped files.
#include "backend/cpu/kernels.h"

namespace anatomy::backend {
namespace {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::cpu; }
  Tensor allocate(DType dtype, Shape shape) const override { return Tensor::empty(dtype, std::move(shape)); }
  Tensor zeros(DType dtype, Shape shape) const override { return Tensor::zeros(dtype, std::move(shape)); }
  void embedding(const Tensor& weight, const Tensor& ids, Tensor& out) const override { cpu::embedding(weight, ids, out); }
  void linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) const override {
    cpu::linear(x, w, bias, w_in_out, out);
  }
  bool fuses_linears(const Tensor& x, const std::vector<Tensor>& ws, std::optional<Activation> gated) const override {
    return cpu::fuses_linears(x, ws, gated);
  }
  void linear_group(const Tensor& x, const std::vector<Tensor>& ws, const std::vector<const Tensor*>& biases,
                    std::vector<Tensor>& outs) const override {
    if (!cpu::linear_group(x, ws, biases, outs)) Backend::linear_group(x, ws, biases, outs);
  }
  void gated_linear(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act, Tensor& out) const override {
    if (!cpu::gated_linear(x, w_gate, w_up, act, out)) Backend::gated_linear(x, w_gate, w_up, act, out);
  }
  void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) const override { cpu::rms_norm(x, w, eps, out); }
  void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out) const override {
    cpu::layer_norm(x, w, b, eps, out);
  }
  void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps,
                      Tensor& out) const override {
    cpu::gated_rms_norm(y, z, w, groups, eps, out);
  }
  void activation(const Tensor& x, Activation act, Tensor& out) const override { cpu::activation(x, act, out); }
  void binary(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) const override { cpu::binary(a, b, op, out); }
  void neg_exp(const Tensor& x, Tensor& out) const override { cpu::neg_exp(x, out); }
  void clamp(const Tensor& x, float lo, float hi, Tensor& out) const override { cpu::clamp(x, lo, hi, out); }
  void slice_last(const Tensor& x, int64_t start, Tensor& out) const override { cpu::slice_last(x, start, out); }
  void concat_last(const Tensor& a, const Tensor& b, Tensor& out) const override { cpu::concat_last(a, b, out); }
  void rope(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out) const override {
    cpu::rope(x, inv_freq, past, out);
  }
  bool keeps_attention_probabilities(const Tensor& q) const override { return cpu::attention_keeps_probabilities(q); }
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionArgs& a, Tensor& out) const override {
    cpu::attention(q, k, v, a, out);
  }
  void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out) const override {
    cpu::causal_conv1d(x, w, bias, state, out);
  }
  void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm, const Tensor& D,
                Tensor& state, Tensor& out) const override {
    cpu::ssm_scan(x, dt, A, Bm, Cm, D, state, out);
  }
  void write_time(Tensor& dst, const Tensor& src, int64_t at) const override { cpu::write_time(dst, src, at); }
  void slice_time(const Tensor& src, int64_t start, Tensor& out) const override { cpu::slice_time(src, start, out); }
  void sinusoid_table(Tensor& out) const override { cpu::sinusoid_table(out); }
  void positions(int64_t past, Tensor& out) const override { cpu::positions(past, out); }
  void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out) const override {
    cpu::cross_entropy(logits, targets, ignore_index, out);
  }
  void dropout(const Tensor& x, float p, uint64_t seed, Tensor& out) const override { cpu::dropout(x, p, seed, out); }

  void fill_zero(Tensor& t) const override { cpu::fill_zero(t); }
  void accumulate(Tensor& dst, const Tensor& src) const override { cpu::accumulate(dst, src); }
  void embedding_backward(const Tensor& dy, const Tensor& ids, Tensor& dweight) const override {
    cpu::embedding_backward(dy, ids, dweight);
  }
  void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, bool w_in_out, Tensor* dx, Tensor* dw,
                       Tensor* dbias) const override {
    cpu::linear_backward(x, w, dy, w_in_out, dx, dw, dbias);
  }
  void rms_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx,
                         Tensor* dw) const override {
    cpu::rms_norm_backward(x, w, eps, dy, dx, dw);
  }
  void layer_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw,
                           Tensor* dbias) const override {
    cpu::layer_norm_backward(x, w, eps, dy, dx, dw, dbias);
  }
  void gated_rms_norm_backward(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps,
                               const Tensor& dout, Tensor& dy, Tensor& dz, Tensor* dw) const override {
    cpu::gated_rms_norm_backward(y, z, w, groups, eps, dout, dy, dz, dw);
  }
  void activation_backward(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx) const override {
    cpu::activation_backward(x, act, dy, dx);
  }
  void binary_backward(const Tensor& a, const Tensor& b, BinaryOp op, const Tensor& dout, Tensor* da,
                       Tensor* db) const override {
    cpu::binary_backward(a, b, op, dout, da, db);
  }
  void neg_exp_backward(const Tensor& out, const Tensor& dy, Tensor& dx) const override {
    cpu::neg_exp_backward(out, dy, dx);
  }
  void clamp_backward(const Tensor& x, float lo, float hi, const Tensor& dy, Tensor& dx) const override {
    cpu::clamp_backward(x, lo, hi, dy, dx);
  }
  void dropout_backward(const Tensor& dy, float p, uint64_t seed, Tensor& dx) const override {
    cpu::dropout_backward(dy, p, seed, dx);
  }
  void slice_last_backward(const Tensor& dy, int64_t start, Tensor& dx) const override {
    cpu::slice_last_backward(dy, start, dx);
  }
  void rope_backward(const Tensor& dy, const std::vector<float>& inv_freq, int64_t past, Tensor& dx) const override {
    cpu::rope_backward(dy, inv_freq, past, dx);
  }
  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionArgs& a,
                          const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv) const override {
    cpu::attention_backward(q, k, v, a, dout, dq, dk, dv);
  }
  void causal_conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor& dx, Tensor& dw,
                              Tensor* dbias) const override {
    cpu::causal_conv1d_backward(x, w, dy, dx, dw, dbias);
  }
  void ssm_scan_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                         const Tensor& D, const Tensor& dy, Tensor& dx, Tensor& ddt, Tensor& dA, Tensor& dB,
                         Tensor& dC, Tensor& dD) const override {
    cpu::ssm_scan_backward(x, dt, A, Bm, Cm, D, dy, dx, ddt, dA, dB, dC, dD);
  }
  void write_time_backward(const Tensor& ddst, int64_t at, Tensor& dsrc) const override {
    cpu::write_time_backward(ddst, at, dsrc);
  }
  void slice_time_backward(const Tensor& dy, int64_t start, Tensor& dsrc) const override {
    cpu::slice_time_backward(dy, start, dsrc);
  }
  void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& dloss,
                              Tensor& dlogits) const override {
    cpu::cross_entropy_backward(logits, targets, ignore_index, dloss, dlogits);
  }
};

}  // namespace

std::shared_ptr<const Backend> cpu() {
  static const auto backend = std::make_shared<const CpuBackend>();
  return backend;
}

}  // namespace anatomy::backend
