#include "inference/state_passes.h"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace anatomy::inference {

namespace {

// Whether this process may record steps, and why not.
bool graphs_allowed(std::string* why) {
  const char* v = std::getenv("ANATOMY_CUDA_GRAPHS");
  if (v && std::strcmp(v, "0") == 0) {
    *why = "op by op (ANATOMY_CUDA_GRAPHS=0)";
    return false;
  }
  return true;
}

}  // namespace

StatePasses::StatePasses(const nn::LanguageModel& lm, const ops::Context& ctx, nn::State& state, const Tensor* source_ids)
    : lm_(lm), ctx_(ctx), state_(state), source_ids_(source_ids) {
  if (lm.source_vocab_size() > 0) how_ = "op by op (an encoder-decoder's position table and target mask grow with each step)";
  else recordable_ = graphs_allowed(&how_);
}

Tensor StatePasses::op_by_op(const Tensor& ids) {
  nn::Run run(ctx_, state_);
  run.last_logits_only = true;
  run.source_ids = source_ids_;
  return lm_.forward_ids(run, ids);
}

Tensor StatePasses::last_logits(const Tensor& ids) {
  if (!recordable_ || ids.dim(1) != 1 || ids.dtype() != DType::I64) return op_by_op(ids);
  if (recording_) return ids.shape() == ids_.shape() ? replay(ids) : op_by_op(ids);
  if (!settled_) {
    settled_ = true;
    return op_by_op(ids);
  }
  // Record this pass (nothing runs while recording; the host-side state advances as it would),
  // then run it. A backend that runs each op as it is called records nothing: the pass runs so.
  const auto& backend = ctx_.backend();
  ids_ = backend.allocate(DType::I64, ids.shape());
  backend.copy_in(ids_, ids);
  recorded_past_ = state_.past;
  recording_ = backend.record([&] { logits_ = op_by_op(ids_); });
  if (!recording_) {
    recordable_ = false;
    return op_by_op(ids);
  }
  how_ = "CUDA graph: one recorded step replayed per token";
  recording_->replay(0);
  return logits_;
}

Tensor StatePasses::replay(const Tensor& ids) {
  lm_.check_positions(state_.past, 1);
  if (state_.past + 1 > state_.max_tokens)
    fail(ErrorKind::config, fmt::format("a pass at position {} is past the state's {} cached tokens", state_.past,
                                        state_.max_tokens));
  ctx_.backend().copy_in(ids_, ids);
  recording_->replay(state_.past - recorded_past_);
  ++state_.past;
  return logits_;
}

}  // namespace anatomy::inference
