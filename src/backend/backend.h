// The backend seam: what executes an op once ops/ has checked its shapes and reported its cost.
// One implementation per device (cpu/, meta; cuda/ later). ops/ calls these unconditionally; the
// meta backend allocates counted meta tensors and runs nothing. Every method gets inputs whose
// shapes ops/ has validated; kernels never throw. Activations are F32; weights keep their stored
// dtype (F32, BF16, F16).
#pragma once

#include <memory>
#include <vector>

#include "core/kinds.h"
#include "core/tensor.h"

namespace anatomy::backend {

// Attention kernel arguments (shapes in ops/attention.h). k and v may be a KV cache of which only
// the first `keys` time steps are read, in place.
struct AttentionArgs {
  float scale = 1.0f;
  bool causal = true;
  int64_t past = 0;
  int64_t keys = 0;  // keys read from k/v (≤ k.dim(1))
  int64_t window = 0;  // > 0: a key more than window − 1 positions before the query is masked
  float masked_value = 0;
  const Tensor* key_padding = nullptr;    // [B, keys], nonzero = keep
  const Tensor* query_padding = nullptr;  // [B, T], zero masks the query row
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  // A new activation tensor on this device (uninitialised).
  virtual Tensor allocate(DType dtype, Shape shape) const = 0;
  // A new recurrent-state tensor on this device, zero-filled.
  virtual Tensor zeros(DType dtype, Shape shape) const = 0;

  virtual void embedding(const Tensor& weight, const Tensor& ids, Tensor& out) const = 0;
  virtual void linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) const = 0;
  virtual void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) const = 0;
  virtual void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out) const = 0;
  virtual void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps,
                              Tensor& out) const = 0;
  virtual void activation(const Tensor& x, Activation act, Tensor& out) const = 0;
  virtual void binary(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) const = 0;
  virtual void neg_exp(const Tensor& x, Tensor& out) const = 0;
  virtual void clamp(const Tensor& x, float lo, float hi, Tensor& out) const = 0;
  virtual void slice_last(const Tensor& x, int64_t start, Tensor& out) const = 0;
  virtual void concat_last(const Tensor& a, const Tensor& b, Tensor& out) const = 0;
  virtual void rope(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out) const = 0;
  virtual void attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionArgs& a,
                         Tensor& out) const = 0;
  virtual void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state,
                             Tensor& out) const = 0;
  virtual void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                        const Tensor& D, Tensor& state, Tensor& out) const = 0;
  virtual void write_time(Tensor& dst, const Tensor& src, int64_t at) const = 0;
  virtual void slice_time(const Tensor& src, int64_t start, Tensor& out) const = 0;
  virtual void sinusoid_table(Tensor& out) const = 0;
  // Per-position iota past … past+T−1 into an I64 [B, T] tensor.
  virtual void positions(int64_t past, Tensor& out) const = 0;
  // Per-token −log softmax(logits)[target]; 0 where target == ignore_index.
  virtual void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                             Tensor& out) const = 0;
};

// The CPU backend (backend/cpu/): one shared instance.
std::shared_ptr<const Backend> cpu();

// The meta backend: outputs are meta tensors counted in `activations` (the activation peak of a
// forward measured without allocating), no kernel runs.
class MetaBackend final : public Backend {
 public:
  MetaBackend() : activations_(std::make_shared<MemoryCounter>()) {}
  const MemoryCounter& activations() const { return *activations_; }
  Device device() const override { return Device::meta; }
  Tensor allocate(DType dtype, Shape shape) const override {
    return Tensor::meta_counted(dtype, std::move(shape), activations_);
  }
  Tensor zeros(DType dtype, Shape shape) const override { return Tensor::meta(dtype, std::move(shape)); }
  void embedding(const Tensor&, const Tensor&, Tensor&) const override {}
  void linear(const Tensor&, const Tensor&, const Tensor*, bool, Tensor&) const override {}
  void rms_norm(const Tensor&, const Tensor&, float, Tensor&) const override {}
  void layer_norm(const Tensor&, const Tensor&, const Tensor*, float, Tensor&) const override {}
  void gated_rms_norm(const Tensor&, const Tensor&, const Tensor&, int64_t, float, Tensor&) const override {}
  void activation(const Tensor&, Activation, Tensor&) const override {}
  void binary(const Tensor&, const Tensor&, BinaryOp, Tensor&) const override {}
  void neg_exp(const Tensor&, Tensor&) const override {}
  void clamp(const Tensor&, float, float, Tensor&) const override {}
  void slice_last(const Tensor&, int64_t, Tensor&) const override {}
  void concat_last(const Tensor&, const Tensor&, Tensor&) const override {}
  void rope(const Tensor&, const std::vector<float>&, int64_t, Tensor&) const override {}
  void attention(const Tensor&, const Tensor&, const Tensor&, const AttentionArgs&, Tensor&) const override {}
  void causal_conv1d(const Tensor&, const Tensor&, const Tensor*, Tensor&, Tensor&) const override {}
  void ssm_scan(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, Tensor&,
                Tensor&) const override {}
  void write_time(Tensor&, const Tensor&, int64_t) const override {}
  void slice_time(const Tensor&, int64_t, Tensor&) const override {}
  void sinusoid_table(Tensor&) const override {}
  void positions(int64_t, Tensor&) const override {}
  void cross_entropy(const Tensor&, const Tensor&, int64_t, Tensor&) const override {}

 private:
  std::shared_ptr<MemoryCounter> activations_;
};

}  // namespace anatomy::backend
