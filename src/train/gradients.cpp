#include "train/gradients.h"

#include <chrono>
#include <set>

#include "core/error.h"
#include "models/checkpoint.h"
#include "ops/ops.h"
#include "ops/tape.h"

namespace anatomy::train {
namespace {

// nanoGPT's rule: every tensor of two or more dimensions decays; biases and norm scales do not.
bool decays(const Tensor& t) { return t.shape().size() >= 2; }

// Per-token losses of one forward pass, recorded on `tape` when given.
Tensor token_losses(const nn::LanguageModel& root, const Batch& b, const ops::Context& ctx) {
  nn::State state(b.ids.dim(0), b.ids.dim(1));
  nn::Run run(ctx, state);
  run.source_ids = b.source ? &*b.source : nullptr;
  const Tensor logits = root.forward_ids(run, b.ids);
  return ops::cross_entropy(ctx, logits, b.targets, kIgnore);
}

Loss mean_of(const Tensor& losses, int64_t tokens) {
  double sum = 0;
  for (uint64_t i = 0; i < losses.numel(); ++i) sum += losses.data<float>()[i];
  return {tokens ? sum / static_cast<double>(tokens) : 0.0, tokens};
}

}  // namespace

int64_t scored(const Tensor& targets) {
  int64_t n = 0;
  for (uint64_t i = 0; i < targets.numel(); ++i) n += targets.data<int64_t>()[i] != kIgnore;
  return n;
}

std::vector<Trainable> make_trainable(const nn::Module& root) {
  std::vector<Trainable> out;
  std::set<const nn::Parameter*> seen;
  for (const nn::ParamRef& ref : nn::parameter_slots(root)) {
    if (!seen.insert(ref.param.get()).second) continue;  // a tied slot: the same object again
    Tensor& v = ref.param->value;
    if (v.is_meta()) fail(ErrorKind::internal, ref.path + ": training needs bound weights");
    if (v.dtype() != DType::F32 || !v.storage() || v.storage()->kind() != Storage::Kind::heap) v = models::converted(v, DType::F32);
    out.push_back({ref.path, ref.param, Tensor::zeros(DType::F32, v.shape()), decays(v)});
  }
  return out;
}

void zero_grads(std::vector<Trainable>& params) {
  for_each_chunk(chunks_of(params), [&](size_t, const Chunk& c) {
    float* g = params[c.param].grad.data<float>();
    std::fill(g + c.begin, g + c.end, 0.0f);
  });
}

std::vector<Chunk> chunks_of(const std::vector<Trainable>& params) {
  std::vector<Chunk> out;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto n = static_cast<int64_t>(params[i].grad.numel());
    for (int64_t b = 0; b < n; b += kChunkElements) out.push_back({i, b, std::min(n, b + kChunkElements)});
  }
  return out;
}

Loss forward_backward(const nn::LanguageModel& root, std::vector<Trainable>& params, const Batch& batch,
                      std::optional<uint64_t> dropout_seed, const std::shared_ptr<const backend::Backend>& backend,
                      int64_t mean_over) {
  ops::Tape tape(backend);
  for (Trainable& p : params) tape.bind(p.param->value, p.grad);
  ops::Context ctx(backend);
  ctx.set_tape(&tape);
  ctx.set_dropout_seed(dropout_seed);
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor losses = token_losses(root, batch, ctx);
  Loss loss = mean_of(losses, scored(batch.targets));
  const auto t1 = std::chrono::steady_clock::now();
  // d(mean)/d(token loss) = 1/tokens for each scored token (the loss op skips ignored ones).
  const int64_t over = mean_over > 0 ? mean_over : loss.tokens;
  Tensor seed = Tensor::empty(DType::F32, losses.shape());
  std::fill(seed.data<float>(), seed.data<float>() + seed.numel(), over ? 1.0f / static_cast<float>(over) : 0.0f);
  tape.backward(losses, seed);
  loss.forward_seconds = std::chrono::duration<double>(t1 - t0).count();
  loss.backward_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  loss.backward_by_op = tape.seconds_by_op();
  return loss;
}

Loss evaluate_loss(const nn::LanguageModel& root, const Batch& batch,
                   const std::shared_ptr<const backend::Backend>& backend) {
  const ops::Context ctx(backend);
  return mean_of(token_losses(root, batch, ctx), scored(batch.targets));
}

uint64_t step_activation_peak(const nn::LanguageModel& root, int64_t batch, int64_t tokens, int64_t source_tokens) {
  auto meta = std::make_shared<backend::MetaBackend>();
  ops::Tape tape(meta);
  ops::Context ctx(meta);
  ctx.set_tape(&tape);
  ctx.set_dropout_seed(1);
  Batch b{Tensor::meta(DType::I64, {batch, tokens}), Tensor::meta(DType::I64, {batch, tokens}), std::nullopt};
  if (source_tokens > 0) b.source = Tensor::meta(DType::I64, {batch, source_tokens});
  const Tensor losses = token_losses(root, b, ctx);
  tape.backward(losses, meta->allocate(DType::F32, losses.shape()));
  return meta->activations().peak;
}

}  // namespace anatomy::train
