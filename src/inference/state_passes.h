// Passes over one kept state (generation, decode timing). On a backend that records (CUDA), the
// one-token passes of a decoder-only model replay a recorded step: the first such pass runs op by
// op (it settles every per-shape choice, table and state tensor), the second is recorded, and
// later ones replay it with positions shifted, so the host issues two launches per token instead
// of one per op. ANATOMY_CUDA_GRAPHS=0 keeps every pass op by op (to compare the two).
#pragma once

#include <memory>
#include <string>

#include "nn/module.h"

namespace anatomy::inference {

class StatePasses {
 public:
  // `source_ids`: the encoder's input of an encoder-decoder (else null); kept by the caller.
  StatePasses(const nn::LanguageModel& lm, const ops::Context& ctx, nn::State& state, const Tensor* source_ids);
  // The last position's logits (B, 1, V) on the backend's device after a pass over `ids` (B, T);
  // valid until the next pass.
  Tensor last_logits(const Tensor& ids);
  // How the one-token passes so far ran: "CUDA graph: …" once a step was recorded, else "op by op"
  // (and why, where the model or the environment ruled recording out).
  const std::string& how() const { return how_; }

 private:
  Tensor op_by_op(const Tensor& ids);
  Tensor replay(const Tensor& ids);

  const nn::LanguageModel& lm_;
  const ops::Context& ctx_;
  nn::State& state_;
  const Tensor* source_ids_;
  bool recordable_ = false;
  std::string how_ = "op by op";
  bool settled_ = false;  // a one-token pass ran op by op (per-shape choices, tables, state tensors made)
  std::unique_ptr<backend::Recording> recording_;
  Tensor ids_, logits_;  // the recorded step's input (device) and output
  int64_t recorded_past_ = 0;
};

}  // namespace anatomy::inference
