// The scalar reference kernels of backend/cpu as a backend of their own: the oracle every backend
// (the CPU fast paths today, CUDA later) is compared against in tests/ops.
#pragma once

#include "backend/cpu/kernels.h"

namespace anatomy::testing {

class ReferenceBackend final : public backend::Backend {
 public:
  Device device() const override { return Device::cpu; }
  Tensor allocate(DType dtype, Shape shape) const override { return Tensor::zeros(dtype, std::move(shape)); }
  Tensor zeros(DType dtype, Shape shape) const override { return Tensor::zeros(dtype, std::move(shape)); }
  void embedding(const Tensor& w, const Tensor& ids, Tensor& out) const override { cpu::embedding_reference(w, ids, out); }
  void linear(const Tensor& x, const Tensor& w, const Tensor* b, bool in_out, Tensor& out) const override {
    cpu::linear_reference(x, w, b, in_out, out);
  }
  void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) const override { cpu::rms_norm_reference(x, w, eps, out); }
  void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out) const override {
    cpu::layer_norm_reference(x, w, b, eps, out);
  }
  void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t g, float eps, Tensor& out) const override {
    cpu::gated_rms_norm_reference(y, z, w, g, eps, out);
  }
  void activation(const Tensor& x, Activation a, Tensor& out) const override { cpu::activation_reference(x, a, out); }
  void binary(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) const override { cpu::binary_reference(a, b, op, out); }
  void neg_exp(const Tensor& x, Tensor& out) const override { cpu::neg_exp(x, out); }
  void clamp(const Tensor& x, float lo, float hi, Tensor& out) const override { cpu::clamp(x, lo, hi, out); }
  void slice_last(const Tensor& x, int64_t s, Tensor& out) const override { cpu::slice_last(x, s, out); }
  void concat_last(const Tensor& a, const Tensor& b, Tensor& out) const override { cpu::concat_last(a, b, out); }
  void rope(const Tensor& x, const std::vector<float>& f, int64_t past, Tensor& out) const override {
    cpu::rope_reference(x, f, past, out);
  }
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) const override {
    cpu::attention_reference(q, k, v, a, out);
  }
  void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& s, Tensor& out) const override {
    cpu::causal_conv1d_reference(x, w, b, s, out);
  }
  void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& B, const Tensor& C, const Tensor& D,
                Tensor& s, Tensor& out) const override {
    cpu::ssm_scan_reference(x, dt, A, B, C, D, s, out);
  }
  void write_time(Tensor& dst, const Tensor& src, int64_t at) const override { cpu::write_time(dst, src, at); }
  void slice_time(const Tensor& src, int64_t start, Tensor& out) const override { cpu::slice_time(src, start, out); }
  void sinusoid_table(Tensor& out) const override { cpu::sinusoid_table(out); }
  void positions(int64_t past, Tensor& out) const override { cpu::positions(past, out); }
  void cross_entropy(const Tensor& l, const Tensor& t, int64_t ignore, Tensor& out) const override {
    cpu::cross_entropy(l, t, ignore, out);
  }
};

}  // namespace anatomy::testing
