// Data parallelism across the CPU's threads, for models whose ops are too small to share out: a
// batch's rows are cut into one shard per worker thread, each worker runs the whole forward and
// backward of its shard on its own thread (its ops open no parallel regions, so no thread waits on
// another per op) into its own gradient buffers, and the buffers are summed in worker order once
// per optimizer step. The result depends on the worker count, never on timing: a run resumed with
// the same count reproduces the uninterrupted one bit for bit.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "backend/backend.h"
#include "train/gradients.h"

namespace anatomy::train {

// Workers for `threads` threads over batches of `batch` rows: one per thread, at most one per row.
int batch_workers(int threads, int64_t batch);

// --parallel auto shards the batch for models whose F32 parameters take at most this many bytes.
// Larger models keep each op across the threads: there the per-op wake-ups cost little beside
// their GEMMs, while a second gradient buffer costs memory (bench/RESULTS.md, stop 27, 2 threads:
// at seed 001's 0.2 M parameters level with `ops` by default and +80 % under
// OMP_WAIT_POLICY=PASSIVE, +1–12 % at 4.7 M, within ±4 % either way at GPT-2 small's 124 M).
inline constexpr uint64_t kShardedParameterBytes = 64ull << 20;

class DataParallel {
 public:
  // Worker 0 accumulates into `params`' own gradients; the others into buffers of their own.
  DataParallel(std::vector<Trainable>& params, int workers);
  int workers() const { return static_cast<int>(shards_.size()) + 1; }

  // One micro-batch: the gradient of the whole batch's mean loss, added shard by shard. Worker w
  // draws dropout masks from its own seed. Loss::mean is the whole batch's; the times are worker
  // 0's (the workers run side by side).
  Loss forward_backward(const nn::LanguageModel& root, const Batch& batch, std::optional<uint64_t> dropout_seed,
                        const std::shared_ptr<const backend::Backend>& backend);
  // The loss alone (validation), shard by shard: the whole batch's mean.
  Loss evaluate(const nn::LanguageModel& root, const Batch& batch, const std::shared_ptr<const backend::Backend>& backend);
  // Adds the other workers' gradients into `params`' in worker order and zeroes theirs.
  void reduce();
  // Threads the last forward_backward ran its shards on (tests assert they ran side by side).
  int threads_last_pass() const { return team_; }

 private:
  template <class Pass>
  Loss sharded(const Batch& batch, Pass&& pass);

  std::vector<Trainable>& params_;
  int team_ = 1;
  std::vector<std::vector<Trainable>> shards_;  // workers 1 … W−1
};

}  // namespace anatomy::train
