// A device backend (CUDA) seen from host tensors, so that every op case of tests/ops runs on it
// unchanged: inputs are uploaded, the op runs on the device backend, outputs and updated states
// are copied back into the host tensors the case reads. Token ids and padding masks are passed
// as they are (the device backend takes them from the host).
#pragma once

#include <cstring>

#include "backend/backend.h"

namespace anatomy::testing {

class DeviceBridge final : public backend::Backend {
 public:
  explicit DeviceBridge(std::shared_ptr<const backend::Backend> device) : d_(std::move(device)) {}
  Device device() const override { return Device::cpu; }
  Tensor allocate(DType dtype, Shape shape) const override { return Tensor::empty(dtype, std::move(shape)); }
  Tensor zeros(DType dtype, Shape shape) const override { return Tensor::zeros(dtype, std::move(shape)); }

  void embedding(const Tensor& w, const Tensor& ids, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->embedding(up(w), ids, o); });
  }
  void linear(const Tensor& x, const Tensor& w, const Tensor* b, bool in_out, Tensor& out) const override {
    const auto bias = opt(b);
    run(out, [&](Tensor& o) { d_->linear(up(x), up(w), bias ? &*bias : nullptr, in_out, o); });
  }
  void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->rms_norm(up(x), up(w), eps, o); });
  }
  void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out) const override {
    const auto bias = opt(b);
    run(out, [&](Tensor& o) { d_->layer_norm(up(x), up(w), bias ? &*bias : nullptr, eps, o); });
  }
  void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t g, float eps, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->gated_rms_norm(up(y), up(z), up(w), g, eps, o); });
  }
  void activation(const Tensor& x, Activation a, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->activation(up(x), a, o); });
  }
  void binary(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->binary(up(a), up(b), op, o); });
  }
  void neg_exp(const Tensor& x, Tensor& out) const override { run(out, [&](Tensor& o) { d_->neg_exp(up(x), o); }); }
  void clamp(const Tensor& x, float lo, float hi, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->clamp(up(x), lo, hi, o); });
  }
  void slice_last(const Tensor& x, int64_t s, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->slice_last(up(x), s, o); });
  }
  void concat_last(const Tensor& a, const Tensor& b, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->concat_last(up(a), up(b), o); });
  }
  void rope(const Tensor& x, const std::vector<float>& f, int64_t past, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->rope(up(x), f, past, o); });
  }
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->attention(up(q), up(k), up(v), a, o); });
  }
  void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* b, Tensor& state, Tensor& out) const override {
    const auto bias = opt(b);
    Tensor s = up(state);
    run(out, [&](Tensor& o) { d_->causal_conv1d(up(x), up(w), bias ? &*bias : nullptr, s, o); });
    back(s, state);
  }
  void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm, const Tensor& D,
                Tensor& state, Tensor& out) const override {
    Tensor s = up(state);
    run(out, [&](Tensor& o) { d_->ssm_scan(up(x), up(dt), up(A), up(Bm), up(Cm), up(D), s, o); });
    back(s, state);
  }
  void write_time(Tensor& dst, const Tensor& src, int64_t at) const override {
    Tensor d = up(dst);
    d_->write_time(d, up(src), at);
    back(d, dst);
  }
  void slice_time(const Tensor& src, int64_t start, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->slice_time(up(src), start, o); });
  }
  void sinusoid_table(Tensor& out) const override { run(out, [&](Tensor& o) { d_->sinusoid_table(o); }); }
  void positions(int64_t past, Tensor& out) const override { run(out, [&](Tensor& o) { d_->positions(past, o); }); }
  void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore, Tensor& out) const override {
    run(out, [&](Tensor& o) { d_->cross_entropy(up(logits), targets, ignore, o); });
  }

 private:
  Tensor up(const Tensor& t) const { return d_->upload(t); }
  std::optional<Tensor> opt(const Tensor* t) const { return t ? std::optional(up(*t)) : std::nullopt; }
  void back(const Tensor& device_tensor, Tensor& host) const {
    const Tensor h = d_->to_host(device_tensor);
    std::memcpy(host.raw(), h.raw(), host.nbytes());
  }
  template <class F>
  void run(Tensor& out, F&& f) const {
    Tensor o = d_->allocate(out.dtype(), out.shape());
    f(o);
    back(o, out);
  }
  std::shared_ptr<const backend::Backend> d_;
};

}  // namespace anatomy::testing
