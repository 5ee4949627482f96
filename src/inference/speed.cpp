// Reference: llama.cpp tools/llama-bench (test_prompt, test_gen).
#include "inference/speed.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <functional>
#include <random>

#include "backend/backend.h"
#include "inference/generate.h"
#include "inference/state_passes.h"
#include "nn/module.h"

namespace anatomy::inference {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// (batch, n) ids drawn once from a fixed seed, in [1, vocab).
Tensor random_ids(int64_t batch, int64_t n, int64_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t = Tensor::empty(DType::I64, {batch, n});
  for (uint64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(std::max<int64_t>(1, vocab - 1)));
  return t;
}

Tensor columns(const Tensor& ids, int64_t from, int64_t n) {
  const int64_t B = ids.dim(0), T = ids.dim(1);
  Tensor t = Tensor::empty(DType::I64, {B, n});
  for (int64_t b = 0; b < B; ++b)
    std::copy(ids.data<int64_t>() + b * T + from, ids.data<int64_t>() + b * T + from + n, t.data<int64_t>() + b * n);
  return t;
}

// Runs prefill of `prompt` columns then `steps` single-token passes; calls on_prefill/on_step with
// the seconds of each; returns how the single-token passes ran (StatePasses::how). An
// encoder-decoder takes the `prompt` columns as its source and makes max(steps, 1) single-token
// passes of its target on its caches; the first, which also encodes the source, is reported as
// the prefill.
std::string run_sequence(const models::Model& model, const Tensor& ids, int64_t prompt, int64_t steps,
                         const std::function<void(double)>& on_prefill, const std::function<void(double)>& on_step,
                         const BackendPtr& device) {
  const nn::LanguageModel& lm = *model.root;
  const bool encdec = lm.source_vocab_size() > 0;
  const ops::Context ctx(device);
  const int64_t B = ids.dim(0);
  const Tensor source = columns(ids, 0, std::max<int64_t>(1, prompt));
  const int64_t passes = std::max<int64_t>(steps, 1);
  nn::State state(B, encdec ? passes : prompt + steps);
  StatePasses on_state(lm, ctx, state, encdec ? &source : nullptr);
  // A pass and the greedy choice from its last logits (the ids fed next are fixed in advance, so
  // every run does the same work; the argmax is kept so that the choice's cost is counted).
  int64_t chosen = 0;
  auto pass = [&](const Tensor& feed) {
    const Tensor logits = device->to_host(on_state.last_logits(feed));
    const float* last = logits.data<float>() + logits.numel() - logits.dim(-1);
    chosen += std::max_element(last, last + logits.dim(-1)) - last;
  };
  const auto timed = [](const std::function<void()>& f) {
    const auto t0 = Clock::now();
    f();
    return since(t0);
  };
  if (encdec) {
    // Target ids follow the source's.
    const int64_t offset = ids.dim(1) - passes;
    for (int64_t s = 0; s < passes; ++s) {
      const double t = timed([&] { pass(columns(ids, offset + s, 1)); });
      (s == 0 ? on_prefill : on_step)(t);
    }
    return on_state.how();
  }
  if (prompt > 0) on_prefill(timed([&] { pass(columns(ids, 0, prompt)); }));
  for (int64_t s = 0; s < steps; ++s) on_step(timed([&] { pass(columns(ids, prompt + s, 1)); }));
  return on_state.how();
}

}  // namespace

Spread Spread::of(std::vector<double> seconds) {
  Spread s;
  s.seconds = seconds;
  if (seconds.empty()) return s;
  const auto n = static_cast<double>(seconds.size());
  s.mean = std::accumulate(seconds.begin(), seconds.end(), 0.0) / n;
  double var = 0;
  for (const double x : seconds) var += (x - s.mean) * (x - s.mean);
  s.stdev = seconds.size() > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  std::sort(seconds.begin(), seconds.end());
  s.median = seconds.size() % 2 ? seconds[seconds.size() / 2] : (seconds[seconds.size() / 2 - 1] + seconds[seconds.size() / 2]) / 2;
  s.p90 = seconds[std::min(seconds.size() - 1, static_cast<size_t>(std::ceil(0.9 * n)) - 1)];
  return s;
}

PrefillSpeed measure_prefill(const models::Model& model, int64_t tokens, int64_t batch, int warmup, int repeat,
                             const BackendPtr& device) {
  const Tensor ids = random_ids(batch, tokens, model.root->vocab_size(), 1);
  std::vector<double> times;
  for (int r = 0; r < warmup + repeat; ++r)
    run_sequence(model, ids, tokens, 0, [&](double s) { if (r >= warmup) times.push_back(s); }, [](double) {}, device);
  return {tokens, batch, Spread::of(times)};
}

DecodeSpeed measure_decode(const models::Model& model, int64_t tokens, int64_t batch, int warmup, int repeat,
                           const BackendPtr& device) {
  const Tensor ids = random_ids(batch, tokens + 1, model.root->vocab_size(), 2);
  std::vector<double> totals, steps;
  std::string launch;
  const bool encdec = model.root->source_vocab_size() > 0;
  for (int r = 0; r < warmup + repeat; ++r) {
    double total = 0;
    // From an empty cache (llama-bench's tg); the encoder-decoder encodes one source token and
    // its first target token is the prefill.
    const auto step = [&](double s) {
      total += s;
      if (r >= warmup) steps.push_back(s);
    };
    launch = run_sequence(model, ids, encdec ? 1 : 0, tokens, encdec ? std::function<void(double)>(step) : [](double) {}, step,
                          device);
    if (r >= warmup) totals.push_back(total);
  }
  return {tokens, batch, Spread::of(totals), Spread::of(steps), cached_state(*model.root), launch};
}

WorkloadSpeed measure_workload(const models::Model& model, int64_t prompt, int64_t new_tokens, int64_t batch, int warmup,
                               int repeat, const BackendPtr& device) {
  const Tensor ids = random_ids(batch, prompt + new_tokens, model.root->vocab_size(), 3);
  std::vector<double> times;
  for (int r = 0; r < warmup + repeat; ++r) {
    const auto t0 = Clock::now();
    run_sequence(model, ids, prompt, new_tokens, [](double) {}, [](double) {}, device);
    if (r >= warmup) times.push_back(since(t0));
  }
  return {prompt, new_tokens, batch, Spread::of(times)};
}

}  // namespace anatomy::inference
