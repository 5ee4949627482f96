#include "train/parallel.h"

#include <exception>

#include <omp.h>

#include "core/error.h"

namespace anatomy::train {
namespace {

// Rows [r0, r1) of a contiguous [B, …] tensor, as a view.
Tensor rows(const Tensor& t, int64_t r0, int64_t r1) {
  if (!t.is_contiguous()) fail(ErrorKind::internal, "data parallelism: a batch tensor is not contiguous");
  Shape shape = t.shape();
  const uint64_t row_bytes = t.nbytes() / static_cast<uint64_t>(shape[0]);
  shape[0] = r1 - r0;
  return Tensor::view(t.storage(), t.offset() + static_cast<size_t>(r0) * row_bytes, t.dtype(), shape);
}

Batch shard_of(const Batch& b, int64_t r0, int64_t r1) {
  Batch s{rows(b.ids, r0, r1), rows(b.targets, r0, r1), std::nullopt};
  if (b.source) s.source = rows(*b.source, r0, r1);
  return s;
}

}  // namespace

int batch_workers(int threads, int64_t batch) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, batch)));
}

DataParallel::DataParallel(std::vector<Trainable>& params, int workers) : params_(params) {
  for (int w = 1; w < workers; ++w) {
    std::vector<Trainable> shard = params;  // the same parameters…
    for (Trainable& p : shard) p.grad = Tensor::zeros(DType::F32, p.grad.shape());  // …their own gradients
    shards_.push_back(std::move(shard));
  }
}

// Runs pass(w, shard, the whole batch's scored tokens) for every worker's shard of `batch`, each on
// a thread of its own, and returns the whole batch's loss (the times are worker 0's).
template <class Pass>
Loss DataParallel::sharded(const Batch& batch, Pass&& pass) {
  const int W = workers();
  const int64_t B = batch.ids.dim(0), total = scored(batch.targets);
  std::vector<Loss> losses(static_cast<size_t>(W));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(W));
#pragma omp parallel num_threads(W)
  {
    omp_set_num_threads(1);  // this thread's ops run on it alone (nested regions get one thread)
    if (omp_get_thread_num() == 0) team_ = omp_get_num_threads();
    // A loop, not one shard per thread: the runtime may give the region fewer threads than asked.
    for (int w = omp_get_thread_num(); w < W; w += omp_get_num_threads()) {
      try {
        losses[static_cast<size_t>(w)] = pass(w, shard_of(batch, B * w / W, B * (w + 1) / W), total);
      } catch (...) {
        errors[static_cast<size_t>(w)] = std::current_exception();  // exceptions may not leave a parallel region
      }
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  Loss out = losses[0];
  double sum = 0;
  for (const Loss& l : losses) sum += l.mean * static_cast<double>(l.tokens);
  out.mean = total ? sum / static_cast<double>(total) : 0.0;
  out.tokens = total;
  return out;
}

Loss DataParallel::forward_backward(const nn::LanguageModel& root, const Batch& batch,
                                    std::optional<uint64_t> dropout_seed,
                                    const std::shared_ptr<const backend::Backend>& backend) {
  team_ = 1;
  if (workers() == 1) return train::forward_backward(root, params_, batch, dropout_seed, backend);
  return sharded(batch, [&](int w, const Batch& shard, int64_t total) {
    std::vector<Trainable>& grads = w == 0 ? params_ : shards_[static_cast<size_t>(w - 1)];
    const std::optional<uint64_t> seed =
        dropout_seed ? std::optional<uint64_t>(*dropout_seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(w))
                     : std::nullopt;
    return train::forward_backward(root, grads, shard, seed, backend, total);
  });
}

Loss DataParallel::evaluate(const nn::LanguageModel& root, const Batch& batch,
                            const std::shared_ptr<const backend::Backend>& backend) {
  team_ = 1;
  if (workers() == 1) return evaluate_loss(root, batch, backend);
  return sharded(batch, [&](int, const Batch& shard, int64_t) { return evaluate_loss(root, shard, backend); });
}

void DataParallel::reduce() {
  if (shards_.empty()) return;
  for_each_chunk(chunks_of(params_), [&](size_t, const Chunk& c) {
    float* g = params_[c.param].grad.data<float>();
    for (auto& shard : shards_) {
      float* o = shard[c.param].grad.data<float>();
      for (int64_t j = c.begin; j < c.end; ++j) g[j] += o[j];
      std::fill(o + c.begin, o + c.end, 0.0f);
    }
  });
}

}  // namespace anatomy::train
