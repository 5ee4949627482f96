// The backend seam: what executes an op once ops/ has checked its shapes and reported its cost.
// One implementation per device (cpu/, cuda/, meta). ops/ calls these unconditionally; the
// meta backend allocates counted meta tensors and runs nothing. Every method gets inputs whose
// shapes ops/ has validated; kernels never throw. Activations are F32; weights keep their stored
// dtype (F32, BF16, F16). A device backend takes its float tensors on its own device (weights are
// uploaded once, `upload`); token ids, targets and padding masks may stay on the host.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
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
  // Training: [B, Hq, T, keys] F32 that the forward fills with the softmax probabilities (where its
  // kernel computes them) and the backward reads instead of recomputing them. Set only for a
  // backend whose keeps_attention_probabilities(q) said yes.
  const Tensor* probabilities = nullptr;
};

// Time stamps taken in execution order on the device that runs the ops: the host clock on the CPU,
// events on the stream on a GPU (no synchronisation per stamp). Read `seconds` after
// Backend::synchronize().
class Timeline {
 public:
  virtual ~Timeline() = default;
  virtual void clear() = 0;
  virtual size_t stamp() = 0;
  virtual double seconds(size_t from, size_t to) const = 0;
};

class HostTimeline final : public Timeline {
 public:
  void clear() override { stamps_.clear(); }
  size_t stamp() override {
    stamps_.push_back(std::chrono::steady_clock::now());
    return stamps_.size() - 1;
  }
  double seconds(size_t from, size_t to) const override {
    return std::chrono::duration<double>(stamps_[to] - stamps_[from]).count();
  }

 private:
  std::vector<std::chrono::steady_clock::time_point> stamps_;
};

// Queued work recorded once and run again without the host issuing each op (a CUDA graph). While a
// backend records, the positions ops give it — rope's and positions' `past`, write_time's `at`, a
// causal attention's `past` and `keys` — are read, each time the recording runs, as the recorded
// value plus `shift`; a non-causal attention (cross attention) keeps its recorded keys. Ops whose
// position could not follow (slice_time, padding masks, host ids) are refused while recording.
class Recording {
 public:
  virtual ~Recording() = default;
  virtual void replay(int64_t shift) const = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  // A copy of a host tensor on this device, in its dtype (the tensor itself on the CPU).
  virtual Tensor upload(const Tensor& host) const { return host; }
  // A host copy of a tensor of this device, after the work that writes it (itself on the CPU).
  virtual Tensor to_host(const Tensor& t) const { return t; }
  // Waits until the queued work has run (a GPU runs asynchronously to the host).
  virtual void synchronize() const {}
  virtual std::unique_ptr<Timeline> timeline() const { return std::make_unique<HostTimeline>(); }
  // Records the work `queue` issues instead of running it (nothing runs until replay); null where
  // the backend runs each op as it is called (the CPU). The memory of tensors made while recording
  // stays the recording's until it is destroyed.
  virtual std::unique_ptr<Recording> record(const std::function<void()>& queue) const;
  // Copies a host tensor into `dst`, a tensor of this device with the same dtype and size (queued).
  virtual void copy_in(Tensor& dst, const Tensor& host) const;
  // A new activation tensor on this device (uninitialised).
  virtual Tensor allocate(DType dtype, Shape shape) const = 0;
  // A new recurrent-state tensor on this device, zero-filled.
  virtual Tensor zeros(DType dtype, Shape shape) const = 0;

  virtual void embedding(const Tensor& weight, const Tensor& ids, Tensor& out) const = 0;
  virtual void linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) const = 0;
  // Projections of one input as one GEMM (q/k/v; gate/up with `gated` = the gate's activation):
  // whether this backend runs them so. Models ask first (ops::fuses_linears) and otherwise run each
  // projection as its own op and scope; the meta backend never fuses, so inspect's module table
  // keeps every projection.
  virtual bool fuses_linears(const Tensor& x, const std::vector<Tensor>& ws, std::optional<Activation> gated) const;
  // outs[i] = x·ws[i]ᵀ (+ biases[i]). Default: one linear() each.
  virtual void linear_group(const Tensor& x, const std::vector<Tensor>& ws, const std::vector<const Tensor*>& biases,
                            std::vector<Tensor>& outs) const;
  // out = act(x·w_gateᵀ) ⊙ (x·w_upᵀ). Default: two linear(), activation(), binary().
  virtual void gated_linear(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act,
                            Tensor& out) const;
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
  // Whether attention over q can keep its probabilities for the backward pass (AttentionArgs).
  virtual bool keeps_attention_probabilities(const Tensor& q) const {
    (void)q;
    return false;
  }
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
  // Training dropout: out = x·mask/(1−p) with mask drawn from (seed, element index) by a counter-
  // based generator, so the backward pass redraws the same mask instead of storing it.
  virtual void dropout(const Tensor& x, float p, uint64_t seed, Tensor& out) const;

  // ---- Backward passes (training; ops/tape.h records them). `d…` arguments are gradients, F32 and
  // contiguous, shaped like the forward tensor they belong to; every method ADDS into them (a
  // tensor used twice, as a tied weight is, accumulates both uses). A null gradient is not wanted.
  // Devices without them throw a device error naming the op; the meta backend runs nothing.
  virtual void fill_zero(Tensor& t) const;
  virtual void accumulate(Tensor& dst, const Tensor& src) const;
  virtual void embedding_backward(const Tensor& dy, const Tensor& ids, Tensor& dweight) const;
  virtual void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, bool w_in_out, Tensor* dx,
                               Tensor* dw, Tensor* dbias) const;
  virtual void rms_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx,
                                 Tensor* dw) const;
  virtual void layer_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx,
                                   Tensor* dw, Tensor* dbias) const;
  virtual void gated_rms_norm_backward(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps,
                                       const Tensor& dout, Tensor& dy, Tensor& dz, Tensor* dw) const;
  virtual void activation_backward(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx) const;
  // out = a ∘ b with b broadcast over a's leading dims: da += dout ∘ ∂, db += Σ over the broadcast.
  virtual void binary_backward(const Tensor& a, const Tensor& b, BinaryOp op, const Tensor& dout, Tensor* da,
                               Tensor* db) const;
  // dx += dy ∘ out (out = −exp(x)).
  virtual void neg_exp_backward(const Tensor& out, const Tensor& dy, Tensor& dx) const;
  virtual void clamp_backward(const Tensor& x, float lo, float hi, const Tensor& dy, Tensor& dx) const;
  virtual void dropout_backward(const Tensor& dy, float p, uint64_t seed, Tensor& dx) const;
  // dx[..., start : start + dy.dim(-1)] += dy.
  virtual void slice_last_backward(const Tensor& dy, int64_t start, Tensor& dx) const;
  virtual void rope_backward(const Tensor& dy, const std::vector<float>& inv_freq, int64_t past, Tensor& dx) const;
  // dk and dv are shaped like k and v (a cache: only the first a.keys steps receive gradient).
  virtual void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionArgs& a,
                                  const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv) const;
  // From a zero initial state (a training sequence starts empty).
  virtual void causal_conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor& dx, Tensor& dw,
                                      Tensor* dbias) const;
  virtual void ssm_scan_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                                 const Tensor& Cm, const Tensor& D, const Tensor& dy, Tensor& dx, Tensor& ddt,
                                 Tensor& dA, Tensor& dB, Tensor& dC, Tensor& dD) const;
  // dsrc += ddst[:, at : at + T] (the rows write_time filled).
  virtual void write_time_backward(const Tensor& ddst, int64_t at, Tensor& dsrc) const;
  // dsrc[:, start : start + T] += dy.
  virtual void slice_time_backward(const Tensor& dy, int64_t start, Tensor& dsrc) const;
  // dlogits += dloss · (softmax(logits) − onehot(target)) per token; nothing where ignored.
  virtual void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                      const Tensor& dloss, Tensor& dlogits) const;

 protected:
  // A device error naming the op this backend cannot run (nothing on the meta backend).
  void unsupported(const char* op) const;
  // copy_in's contract: a contiguous host tensor of dst's dtype and size (an internal error if not).
  static void require_copyable(const Tensor& dst, const Tensor& host);
};

// The CPU backend (backend/cpu/): one shared instance.
std::shared_ptr<const Backend> cpu();
// The CUDA backend (backend/cuda/) on GPU 0: one shared instance. Throws a device error saying why
// when this build has no CUDA backend or the machine has no usable GPU.
std::shared_ptr<const Backend> cuda();
// Whether cuda() would succeed here (a GPU test skips when not), and why not.
bool cuda_available(std::string* why = nullptr);
// "cpu" or "cuda" (the --device option): the backend, or a config error naming the option.
std::shared_ptr<const Backend> for_device(const std::string& name);

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
  // States (KV caches, SSM states) are counted apart from the activations; they have a storage
  // so that a training tape can tell one from another.
  Tensor zeros(DType dtype, Shape shape) const override {
    return Tensor::meta_counted(dtype, std::move(shape), states_);
  }
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
  // Counted as kept wherever a backend might keep them: the plan is an upper bound.
  bool keeps_attention_probabilities(const Tensor&) const override { return true; }
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
  std::shared_ptr<MemoryCounter> states_ = std::make_shared<MemoryCounter>();
};

}  // namespace anatomy::backend
