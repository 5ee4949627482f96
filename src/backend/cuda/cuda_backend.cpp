// The CUDA backend: the op seam (backend/backend.h) bound to the kernels of this folder. Float
// tensors live on GPU 0 (weights uploaded once in their stored dtype, activations f32 from the
// block cache below); token ids, targets and padding masks may come from the host and are copied
// over per call. Everything is queued on one stream; the host waits only in to_host and
// synchronize.
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/cuda/kernels.h"
#include "core/error.h"

namespace anatomy::cuda {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) fail(ErrorKind::internal, fmt::format("CUDA: {}: {}", what, cudaGetErrorString(status)));
}

void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) fail(ErrorKind::internal, fmt::format("CUDA kernel {}: {}", kernel, cudaGetErrorString(e)));
}

cudaStream_t stream() {
  static const cudaStream_t s = [] {
    cudaStream_t created = nullptr;
    ANATOMY_CUDA_CHECK(cudaStreamCreateWithFlags(&created, cudaStreamNonBlocking));
    return created;
  }();
  return s;
}

namespace {

// The blocks a recording was made with: every block handed out while it was recorded stays its
// own (never handed out again) until it is destroyed, since each replay writes them again.
struct RecordedBlocks {
  std::vector<std::pair<void*, size_t>> kept;  // freed by their tensors, held for the replays
};

// Device blocks cached by size class and handed out again without a CUDA call (a forward makes
// hundreds of activations; cudaMallocAsync and cudaFreeAsync cost microseconds each, which decode
// and short prefills pay per op). All work runs on one stream in order, so a block the host frees
// after its last use was queued can serve work queued later: that work runs after the last use.
class BlockCache {
 public:
  // Size classes: multiples of 512 bytes up to 1 MiB, of 2 MiB above.
  static size_t size_class(size_t bytes) {
    const size_t unit = bytes <= (size_t{1} << 20) ? 512 : size_t{2} << 20;
    return (bytes + unit - 1) / unit * unit;
  }
  void* get(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        if (recording_) owner_[p] = recording_;
        return p;
      }
    }
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) != cudaSuccess) {
      (void)cudaGetLastError();
      free_cached();  // cached blocks of other sizes may make room
      ANATOMY_CUDA_CHECK(cudaMalloc(&p, bytes));
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (recording_) owner_[p] = recording_;
    return p;
  }
  void put(void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = owner_.find(p); it != owner_.end()) {
      it->second->kept.emplace_back(p, bytes);
      return;
    }
    free_[bytes].push_back(p);
  }
  // Blocks handed out from now on belong to `r` (null: to nobody).
  void record_into(RecordedBlocks* r) {
    std::lock_guard<std::mutex> lock(mu_);
    recording_ = r;
  }
  // A recording is gone: its blocks serve anyone again.
  void release(RecordedBlocks* r) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(owner_, [r](const auto& entry) { return entry.second == r; });
    for (const auto& [p, bytes] : r->kept) free_[bytes].push_back(p);
    r->kept.clear();
  }

 private:
  void free_cached() {
    std::lock_guard<std::mutex> lock(mu_);
    ANATOMY_CUDA_CHECK(cudaStreamSynchronize(stream()));
    for (auto& [bytes, blocks] : free_)
      for (void* p : blocks) cudaFree(p);
    free_.clear();
  }
  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  RecordedBlocks* recording_ = nullptr;
  std::map<void*, RecordedBlocks*> owner_;
};

BlockCache& blocks() {
  static auto* cache = new BlockCache;  // outlives every tensor (never destroyed)
  return *cache;
}

}  // namespace

DeviceStorage::DeviceStorage(size_t bytes) : size_(bytes) {
  if (bytes > 0) data_ = static_cast<std::byte*>(blocks().get(BlockCache::size_class(bytes)));
}

DeviceStorage::~DeviceStorage() {
  if (data_) blocks().put(data_, BlockCache::size_class(size_));
}

Tensor device_empty(DType dtype, Shape shape) {
  const auto numel = shape_numel(shape);
  if (!numel) fail(ErrorKind::internal, fmt::format("cuda: bad shape {}", shape_str(shape)));
  const size_t bytes = *dtype_bytes(dtype, *numel);
  return Tensor::view(std::make_shared<DeviceStorage>(bytes), 0, dtype, std::move(shape));
}

Tensor device_zeros(DType dtype, Shape shape) {
  Tensor t = device_empty(dtype, std::move(shape));
  if (t.nbytes() > 0) ANATOMY_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), stream()));
  return t;
}

namespace {

// The shift of the recording being made (device memory), null when none is.
const int64_t* g_recording_shift = nullptr;

Position position(int64_t value) { return {value, g_recording_shift}; }

void refuse_while_recording(const char* what) {
  if (g_recording_shift)
    fail(ErrorKind::internal, fmt::format("cuda: {} cannot be part of a recorded step", what));
}

Elem elem(const Tensor& t, const char* op) {
  switch (t.dtype()) {
    case DType::F32: return Elem::f32;
    case DType::BF16: return Elem::bf16;
    case DType::F16: return Elem::f16;
    default: fail(ErrorKind::unsupported, fmt::format("[{}] the CUDA backend runs f32, bf16 and f16 tensors, not {}", op, dtype_name(t.dtype())));
  }
}

void require_device(const Tensor& t, const char* op) {
  if (t.device() != Device::cuda)
    fail(ErrorKind::internal, fmt::format("[{}] a {} tensor {} reached the CUDA backend (weights must be uploaded first)",
                                          op, device_name(t.device()), shape_str(t.shape())));
}

const float* f32(const Tensor& t, const char* op) {
  require_device(t, op);
  if (t.dtype() != DType::F32) fail(ErrorKind::internal, fmt::format("[{}] expects f32 activations", op));
  return t.data<float>();
}
float* f32_out(Tensor& t, const char* op) { return const_cast<float*>(f32(t, op)); }

struct Weight {
  const void* p = nullptr;
  Elem t = Elem::f32;
};
Weight weight(const Tensor& t, const char* op) {
  require_device(t, op);
  return {t.raw(), elem(t, op)};
}
Weight optional_weight(const Tensor* t, const char* op) { return t ? weight(*t, op) : Weight{}; }

// A host vector as a device tensor. A copy from pageable host memory returns once CUDA has staged
// the bytes, so `host` may go when this returns.
template <class T>
Tensor copied(const std::vector<T>& host, DType dtype, const Shape& shape) {
  Tensor d = device_empty(dtype, shape);
  ANATOMY_CUDA_CHECK(cudaMemcpyAsync(d.raw(), host.data(), d.nbytes(), cudaMemcpyHostToDevice, stream()));
  return d;
}

// Ids (I64 or I32) on the device as I64.
Tensor device_ids(const Tensor& ids) {
  if (ids.device() == Device::cuda && ids.dtype() == DType::I64) return ids;
  if (ids.device() == Device::cuda) fail(ErrorKind::internal, "cuda: I32 ids on the device are not supported");
  refuse_while_recording("token ids from the host");
  std::vector<int64_t> host(ids.numel());
  for (uint64_t i = 0; i < ids.numel(); ++i) host[i] = id_at(ids, i);
  return copied(host, DType::I64, ids.shape());
}

// A padding mask (host or device) on the device, as F32.
Tensor device_mask(const Tensor& m) {
  refuse_while_recording("a padding mask");
  if (m.device() == Device::cuda) return m;
  std::vector<float> host(m.numel());
  for (uint64_t i = 0; i < m.numel(); ++i) host[i] = element_f32(m, i);
  return copied(host, DType::F32, m.shape());
}

int64_t rows(const Tensor& t) { return static_cast<int64_t>(t.numel()) / std::max<int64_t>(1, t.dim(-1)); }

// A CUDA graph of the work queued while recording, and the blocks it was made with.
class CudaRecording final : public backend::Recording {
 public:
  CudaRecording() : shift_(device_zeros(DType::I64, {1})) {}
  ~CudaRecording() override {
    (void)cudaStreamSynchronize(stream());  // no replay still running
    if (exec_) cudaGraphExecDestroy(exec_);
    blocks().release(&blocks_);
  }
  void replay(int64_t shift) const override {
    fill_i64(shift_.data<int64_t>(), shift, stream());
    ANATOMY_CUDA_CHECK(cudaGraphLaunch(exec_, stream()));
  }
  void make(const std::function<void()>& queue) {
    g_recording_shift = shift_.data<int64_t>();
    blocks().record_into(&blocks_);
    ANATOMY_CUDA_CHECK(cudaStreamBeginCapture(stream(), cudaStreamCaptureModeRelaxed));
    cudaGraph_t graph = nullptr;
    try {
      queue();
    } catch (...) {
      if (stop(graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
      throw;
    }
    ANATOMY_CUDA_CHECK(stop(graph));
    const cudaError_t made = cudaGraphInstantiate(&exec_, graph, 0);
    cudaGraphDestroy(graph);
    ANATOMY_CUDA_CHECK(made);
  }

 private:
  static cudaError_t stop(cudaGraph_t& graph) {
    g_recording_shift = nullptr;
    blocks().record_into(nullptr);
    return cudaStreamEndCapture(stream(), &graph);
  }
  Tensor shift_;
  RecordedBlocks blocks_;
  cudaGraphExec_t exec_ = nullptr;
};

class EventTimeline final : public backend::Timeline {
 public:
  ~EventTimeline() override {
    for (cudaEvent_t e : events_) cudaEventDestroy(e);
  }
  void clear() override { used_ = 0; }
  size_t stamp() override {
    if (used_ == events_.size()) {
      cudaEvent_t e = nullptr;
      ANATOMY_CUDA_CHECK(cudaEventCreate(&e));
      events_.push_back(e);
    }
    ANATOMY_CUDA_CHECK(cudaEventRecord(events_[used_], stream()));
    return used_++;
  }
  double seconds(size_t from, size_t to) const override {
    float ms = 0;
    ANATOMY_CUDA_CHECK(cudaEventElapsedTime(&ms, events_[from], events_[to]));
    return ms / 1e3;
  }

 private:
  std::vector<cudaEvent_t> events_;
  size_t used_ = 0;
};

class CudaBackend final : public backend::Backend {
 public:
  Device device() const override { return Device::cuda; }
  Tensor allocate(DType dtype, Shape shape) const override { return device_empty(dtype, std::move(shape)); }
  Tensor zeros(DType dtype, Shape shape) const override { return device_zeros(dtype, std::move(shape)); }

  Tensor upload(const Tensor& host) const override {
    if (host.device() == Device::cuda) return host;
    if (!host.is_contiguous()) fail(ErrorKind::internal, "cuda: upload of a non-contiguous tensor");
    Tensor d = device_empty(host.dtype(), host.shape());
    if (d.nbytes() > 0) ANATOMY_CUDA_CHECK(cudaMemcpyAsync(d.raw(), host.raw(), d.nbytes(), cudaMemcpyHostToDevice, stream()));
    // The host tensor may be a mapped file the caller drops next: finish reading it now.
    ANATOMY_CUDA_CHECK(cudaStreamSynchronize(stream()));
    return d;
  }
  Tensor to_host(const Tensor& t) const override {
    if (t.device() != Device::cuda) return t;
    Tensor h = Tensor::empty(t.dtype(), t.shape());
    if (h.nbytes() > 0) ANATOMY_CUDA_CHECK(cudaMemcpyAsync(h.raw(), t.raw(), h.nbytes(), cudaMemcpyDeviceToHost, stream()));
    ANATOMY_CUDA_CHECK(cudaStreamSynchronize(stream()));
    return h;
  }
  void synchronize() const override { ANATOMY_CUDA_CHECK(cudaStreamSynchronize(stream())); }
  std::unique_ptr<backend::Timeline> timeline() const override { return std::make_unique<EventTimeline>(); }
  std::unique_ptr<backend::Recording> record(const std::function<void()>& queue) const override {
    auto r = std::make_unique<CudaRecording>();
    r->make(queue);
    return r;
  }
  void copy_in(Tensor& dst, const Tensor& host) const override {
    require_device(dst, "copy_in");
    require_copyable(dst, host);
    if (dst.nbytes() > 0) ANATOMY_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), host.raw(), dst.nbytes(), cudaMemcpyHostToDevice, stream()));
  }

  void embedding(const Tensor& weight, const Tensor& ids, Tensor& out) const override {
    const Weight w = cuda::weight(weight, "embedding");
    const Tensor d = device_ids(ids);
    cuda::embedding(w.p, w.t, weight.dim(0), weight.dim(1), d.data<int64_t>(), static_cast<int64_t>(ids.numel()),
                    f32_out(out, "embedding"), stream());
  }
  void linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) const override {
    const Weight wt = weight(w, "linear"), b = optional_weight(bias, "linear");
    cuda::linear(f32(x, "linear"), wt.p, wt.t, b.p, b.t, w_in_out, rows(x), out.dim(-1), x.dim(-1), f32_out(out, "linear"),
                 stream());
  }
  void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out) const override {
    const Weight wt = weight(w, "rms_norm");
    cuda::rms_norm(f32(x, "rms_norm"), wt.p, wt.t, eps, rows(x), x.dim(-1), f32_out(out, "rms_norm"), stream());
  }
  void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out) const override {
    const Weight wt = weight(w, "layer_norm"), bt = optional_weight(b, "layer_norm");
    cuda::layer_norm(f32(x, "layer_norm"), wt.p, wt.t, bt.p, bt.t, eps, rows(x), x.dim(-1), f32_out(out, "layer_norm"),
                     stream());
  }
  void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps,
                      Tensor& out) const override {
    const Weight wt = weight(w, "gated_rms_norm");
    cuda::gated_rms_norm(f32(y, "gated_rms_norm"), f32(z, "gated_rms_norm"), wt.p, wt.t, groups, eps, rows(y), y.dim(-1),
                         f32_out(out, "gated_rms_norm"), stream());
  }
  void activation(const Tensor& x, Activation act, Tensor& out) const override {
    cuda::activation(f32(x, "activation"), static_cast<int>(act), static_cast<int64_t>(x.numel()), f32_out(out, "activation"),
                     stream());
  }
  void binary(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out) const override {
    const Weight bt = weight(b, "binary");
    cuda::binary(f32(a, "binary"), bt.p, bt.t, static_cast<int64_t>(b.numel()), static_cast<int>(op),
                 static_cast<int64_t>(a.numel()), f32_out(out, "binary"), stream());
  }
  void neg_exp(const Tensor& x, Tensor& out) const override {
    const Weight xt = weight(x, "neg_exp");
    cuda::neg_exp(xt.p, xt.t, static_cast<int64_t>(x.numel()), f32_out(out, "neg_exp"), stream());
  }
  void clamp(const Tensor& x, float lo, float hi, Tensor& out) const override {
    cuda::clamp(f32(x, "clamp"), lo, hi, static_cast<int64_t>(x.numel()), f32_out(out, "clamp"), stream());
  }
  void slice_last(const Tensor& x, int64_t start, Tensor& out) const override {
    cuda::slice_last(f32(x, "slice_last"), rows(x), x.dim(-1), start, out.dim(-1), f32_out(out, "slice_last"), stream());
  }
  void concat_last(const Tensor& a, const Tensor& b, Tensor& out) const override {
    cuda::concat_last(f32(a, "concat_last"), a.dim(-1), f32(b, "concat_last"), b.dim(-1), rows(a),
                      f32_out(out, "concat_last"), stream());
  }
  void rope(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out) const override {
    cuda::rope(f32(x, "rope"), frequencies(inv_freq), position(past), x.dim(0), x.dim(1), x.dim(2), x.dim(3), f32_out(out, "rope"),
               stream());
  }
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                 Tensor& out) const override {
    if (q.dim(3) > 256) fail(ErrorKind::unsupported, fmt::format("[attention] the CUDA kernel takes head_dim ≤ 256, not {}", q.dim(3)));
    const std::optional<Tensor> kp = a.key_padding ? std::optional(device_mask(*a.key_padding)) : std::nullopt;
    const std::optional<Tensor> qp = a.query_padding ? std::optional(device_mask(*a.query_padding)) : std::nullopt;
    const AttentionShape sh{q.dim(0), q.dim(1), q.dim(2), q.dim(3), k.dim(1), k.dim(2), a.keys, a.scale, a.causal, a.past,
                            a.window, a.masked_value, kp ? kp->data<float>() : nullptr, qp ? qp->data<float>() : nullptr,
                            g_recording_shift};
    cuda::attention(f32(q, "attention"), f32(k, "attention"), f32(v, "attention"), sh, f32_out(out, "attention"), stream());
  }
  void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out) const override {
    const Weight wt = weight(w, "causal_conv1d"), bt = optional_weight(bias, "causal_conv1d");
    cuda::causal_conv1d(f32(x, "causal_conv1d"), wt.p, wt.t, bt.p, bt.t, x.dim(0), x.dim(1), x.dim(2), w.dim(2),
                        f32_out(state, "causal_conv1d"), f32_out(out, "causal_conv1d"), stream());
  }
  void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm, const Tensor& D,
                Tensor& state, Tensor& out) const override {
    if (Bm.dim(3) > max_state_size())
      fail(ErrorKind::unsupported, fmt::format("[ssm_scan] the CUDA kernel takes state sizes ≤ {}, not {}", max_state_size(), Bm.dim(3)));
    const Weight at = weight(A, "ssm_scan"), dd = weight(D, "ssm_scan");
    const ScanShape sh{x.dim(0), x.dim(1), x.dim(2), x.dim(3), Bm.dim(2), Bm.dim(3)};
    cuda::ssm_scan(f32(x, "ssm_scan"), f32(dt, "ssm_scan"), at.p, at.t, f32(Bm, "ssm_scan"), f32(Cm, "ssm_scan"), dd.p, dd.t,
                   sh, f32_out(state, "ssm_scan"), f32_out(out, "ssm_scan"), stream());
  }
  void write_time(Tensor& dst, const Tensor& src, int64_t at) const override {
    const int64_t B = src.dim(0), T = src.dim(1);
    const int64_t inner = static_cast<int64_t>(src.numel()) / std::max<int64_t>(B * T, 1);
    cuda::write_time(f32(src, "write_time"), B, T, inner, dst.dim(1), position(at), f32_out(dst, "write_time"), stream());
  }
  void slice_time(const Tensor& src, int64_t start, Tensor& out) const override {
    refuse_while_recording("slice_time");
    const int64_t B = out.dim(0), T = out.dim(1), Tmax = src.dim(1);
    const int64_t inner = static_cast<int64_t>(out.numel()) / (B * std::max<int64_t>(T, 1));
    if (B * T * inner == 0) return;
    const size_t row = static_cast<size_t>(T * inner) * 4;
    ANATOMY_CUDA_CHECK(cudaMemcpy2DAsync(f32_out(out, "slice_time"), row, f32(src, "slice_time") + start * inner,
                                         static_cast<size_t>(Tmax * inner) * 4, row, static_cast<size_t>(B),
                                         cudaMemcpyDeviceToDevice, stream()));
  }
  void sinusoid_table(Tensor& out) const override {
    cuda::sinusoid_table(f32_out(out, "sinusoid_table"), out.dim(0), out.dim(1), stream());
  }
  void positions(int64_t past, Tensor& out) const override {
    require_device(out, "positions");
    cuda::positions(position(past), out.dim(0), out.dim(1), out.data<int64_t>(), stream());
  }
  void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out) const override {
    const Tensor t = device_ids(targets);
    cuda::cross_entropy(f32(logits, "cross_entropy"), rows(logits), logits.dim(-1), t.data<int64_t>(), ignore_index,
                        f32_out(out, "cross_entropy"), stream());
  }

 private:
  // RoPE frequencies are fixed per module: one device copy per distinct table, kept.
  const float* frequencies(const std::vector<float>& inv_freq) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = freqs_.find(inv_freq);
    if (it == freqs_.end()) {
      Tensor host = Tensor::empty(DType::F32, {static_cast<int64_t>(inv_freq.size())});
      std::memcpy(host.raw(), inv_freq.data(), inv_freq.size() * 4);
      it = freqs_.emplace(inv_freq, upload(host)).first;
    }
    return it->second.data<float>();
  }
  mutable std::mutex mu_;
  mutable std::map<std::vector<float>, Tensor> freqs_;
};

}  // namespace
}  // namespace anatomy::cuda

namespace anatomy::backend {

bool cuda_available(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    if (why) *why = e != cudaSuccess ? fmt::format("no usable GPU ({})", cudaGetErrorString(e)) : "no GPU on this machine";
    return false;
  }
  return true;
}

std::shared_ptr<const Backend> cuda() {
  if (std::string why; !cuda_available(&why)) fail(ErrorKind::device, fmt::format("--device cuda: {}", why));
  static const auto backend = std::make_shared<const cuda::CudaBackend>();
  return backend;
}

}  // namespace anatomy::backend
