// Gradients of a language model's loss through the training tape (ops/tape.h): the same forward
// that `run` executes, recorded, then reversed. No second definition of any model exists.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor.h"
#include "nn/module.h"

namespace anatomy::train {

// A parameter being trained: one per unique Parameter object (a tied head and its embedding are
// one), named by its first state_dict path.
struct Trainable {
  std::string name;
  std::shared_ptr<nn::Parameter> param;
  Tensor grad;  // F32, the parameter's shape; gradients accumulate here until zeroed
  bool decay;   // weight decay applies: matrices and embeddings, not norms, biases or 1-D tensors
};

// The tree's unique parameters in state_dict order, each made an F32 heap tensor (updatable in
// place; mapped or half-precision weights are copied), with zeroed gradients.
std::vector<Trainable> make_trainable(const nn::Module& root);
void zero_grads(std::vector<Trainable>& params);

// Every parameter's elements in chunks of at most kChunkElements, in order. The loops over all
// parameters (zeroing, summing workers' gradients, the gradient norm, optimizer steps) run as one
// parallel loop over these chunks — most parameters are too small to split on their own — and
// sums over them combine per chunk in this fixed order, whatever the thread count.
struct Chunk {
  size_t param;
  int64_t begin, end;  // elements [begin, end) of the parameter
};
inline constexpr int64_t kChunkElements = 1 << 14;
std::vector<Chunk> chunks_of(const std::vector<Trainable>& params);
// Runs body(chunk index, chunk) over every chunk, across the threads from 64 chunks (1 M elements)
// on: below, a pass takes less than the threads' wake-up costs under OMP_WAIT_POLICY=PASSIVE.
template <class Body>
void for_each_chunk(const std::vector<Chunk>& chunks, Body&& body) {
  const auto n = static_cast<int64_t>(chunks.size());
#pragma omp parallel for schedule(static) if (n >= 64)
  for (int64_t c = 0; c < n; ++c) body(static_cast<size_t>(c), chunks[static_cast<size_t>(c)]);
}

// One batch: ids and targets [B, T] (I64; a target of kIgnore is not scored); encoder-decoders
// also take the encoder's input.
inline constexpr int64_t kIgnore = -100;
struct Batch {
  Tensor ids, targets;
  std::optional<Tensor> source;
};

struct Loss {
  double mean = 0;     // mean cross-entropy over the scored tokens (nats)
  int64_t tokens = 0;  // tokens scored
  // Wall time of the pass: forward (with the loss), backward, and the backward by op.
  double forward_seconds = 0, backward_seconds = 0;
  std::map<std::string, double> backward_by_op;
};

// Forward and backward of the mean next-token cross-entropy: adds d(loss)/d(parameter) into each
// Trainable's grad. `dropout_seed` set = training mode (dropout active). The gradient is of the
// summed token losses divided by `mean_over` (0: the batch's own scored tokens), so that shards
// of one batch each add their part of the whole batch's mean; Loss::mean is the shard's own.
Loss forward_backward(const nn::LanguageModel& root, std::vector<Trainable>& params, const Batch& batch,
                      std::optional<uint64_t> dropout_seed, const std::shared_ptr<const backend::Backend>& backend,
                      int64_t mean_over = 0);
// The same loss without gradients (validation).
Loss evaluate_loss(const nn::LanguageModel& root, const Batch& batch,
                   const std::shared_ptr<const backend::Backend>& backend);

// Bytes a training step's forward + backward keeps live at its peak (activations and their
// gradients, parameter gradients excluded), measured by running the step on the meta backend.
// Tokens a batch scores (targets other than kIgnore).
int64_t scored(const Tensor& targets);

uint64_t step_activation_peak(const nn::LanguageModel& root, int64_t batch, int64_t tokens, int64_t source_tokens);

}  // namespace anatomy::train
