#include "analysis/profile.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "backend/device.h"
#include "core/error.h"
#include "nn/module.h"

namespace anatomy::analysis {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Stamps the start and end of every scope of one pass, in call order, on the backend's timeline
// (the host clock on the CPU; events on the stream on a GPU, read after the pass). On the cold
// pass it also forwards everything to a cost collector; timed passes only stamp.
class ScopeTimer : public ops::Observer {
 public:
  explicit ScopeTimer(const backend::Backend& backend) : timeline_(backend.timeline()) {}
  void start(size_t scopes, ops::Observer* collector) {
    collector_ = collector;
    timeline_->clear();
    begin_.clear();
    end_.clear();
    begin_.reserve(scopes);
    end_.reserve(scopes);
  }
  void begin_scope(const std::string& name, const std::string& type, const Tensor& input) override {
    if (collector_) collector_->begin_scope(name, type, input);
    stack_.push_back(begin_.size());
    end_.emplace_back();
    begin_.push_back(timeline_->stamp());
  }
  void end_scope(const Tensor& output) override {
    end_[stack_.back()] = timeline_->stamp();
    stack_.pop_back();
    if (collector_) collector_->end_scope(output);
  }
  void op(const char* name, const ops::Cost& cost) override {
    if (collector_) collector_->op(name, cost);
  }
  size_t scopes() const { return begin_.size(); }
  double inclusive(size_t i) const { return timeline_->seconds(begin_[i], end_[i]); }

 private:
  ops::Observer* collector_ = nullptr;
  std::unique_ptr<backend::Timeline> timeline_;
  std::vector<size_t> begin_, end_;
  std::vector<size_t> stack_;
};

// Runs passes over one state: every pass starts from the same cache position with the same
// recurrent (SSM, conv) state, so repeats do the same work. KV slots at and after that position
// are overwritten by the pass itself.
class Passes {
 public:
  Passes(const nn::LanguageModel& lm, const ProfileOptions& o)
      : lm_(lm), backend_(o.backend), state_(o.batch, o.context + o.tokens), last_logits_(o.decode) {
    const int64_t vocab = lm.vocab_size();
    context_ids_ = Tensor::empty(DType::I64, {o.batch, std::max<int64_t>(o.context, 1)});
    ids_ = Tensor::empty(DType::I64, {o.batch, o.tokens});
    for (Tensor* t : {&context_ids_, &ids_})
      for (uint64_t i = 0; i < t->numel(); ++i) t->data<int64_t>()[i] = static_cast<int64_t>((i * 7919 + 13) % vocab);
    if (!o.source_ids.empty()) {
      const auto S = static_cast<int64_t>(o.source_ids.size());
      source_ = Tensor::empty(DType::I64, {o.batch, S});
      for (int64_t b = 0; b < o.batch; ++b) std::copy(o.source_ids.begin(), o.source_ids.end(), source_->data<int64_t>() + b * S);
    }
  }

  int count() const { return passes_; }

  // Fills the cache with `context` tokens and remembers the recurrent state it leaves.
  double prefill_context() {
    const auto t0 = Clock::now();
    run(nullptr, context_ids_, false);
    base_past_ = state_.past;
    for (const auto& [key, t] : state_.tensors)
      if (!nn::is_kv_cache(key)) {
        Tensor copy = Tensor::empty(t.dtype(), t.shape());
        std::memcpy(copy.raw(), backend_->to_host(t).raw(), t.nbytes());
        snapshot_.emplace(key, std::move(copy));
      }
    return seconds(t0, Clock::now());
  }

  double pass(ops::Observer* observer) {
    ++passes_;
    reset();
    const auto t0 = Clock::now();
    run(observer, ids_, last_logits_);
    backend_->synchronize();
    return seconds(t0, Clock::now());
  }

 private:
  void run(ops::Observer* observer, const Tensor& ids, bool last_logits) {
    const ops::Context ctx(backend_, observer ? std::vector<ops::Observer*>{observer} : std::vector<ops::Observer*>{});
    nn::Run r(ctx, state_);
    r.last_logits_only = last_logits;
    r.source_ids = source_ ? &*source_ : nullptr;
    r.scope("", lm_, ids, [&] { return lm_.forward_ids(r, ids); });
  }

  void reset() {
    state_.past = base_past_;
    for (auto& [key, t] : state_.tensors) {
      if (nn::is_kv_cache(key)) continue;
      auto it = snapshot_.find(key);
      if (backend_->device() != Device::cpu)  // a fresh device copy: the host cannot write device memory
        t = it != snapshot_.end() ? backend_->upload(it->second) : backend_->zeros(t.dtype(), t.shape());
      else if (it != snapshot_.end()) std::memcpy(t.raw(), it->second.raw(), t.nbytes());
      else std::memset(t.raw(), 0, t.nbytes());
    }
  }

  const nn::LanguageModel& lm_;
  std::shared_ptr<const backend::Backend> backend_;
  nn::State state_;
  bool last_logits_;
  Tensor context_ids_, ids_;
  std::optional<Tensor> source_;
  int64_t base_past_ = 0;
  std::map<std::string, Tensor> snapshot_;
  int passes_ = 0;
};

}  // namespace

void check_options(const ProfileOptions& o) {
  if (o.batch < 1) fail(ErrorKind::config, fmt::format("--batch {}: must be at least 1", o.batch));
  if (o.tokens < 1) fail(ErrorKind::config, fmt::format("--tokens {}: must be at least 1", o.tokens));
  if (o.context < 0) fail(ErrorKind::config, fmt::format("--context {}: must not be negative", o.context));
  if (o.decode && o.context < 1) fail(ErrorKind::config, "--decode needs --context L ≥ 1 (the tokens already cached)");
  if (o.warmup < 0) fail(ErrorKind::config, fmt::format("--warmup {}: must not be negative", o.warmup));
  if (o.repeat < 1) fail(ErrorKind::config, fmt::format("--repeat {}: must be at least 1", o.repeat));
}

ProfileReport profile_model(const models::Model& model, const ProfileOptions& o, Progress& progress) {
  check_options(o);
  const nn::LanguageModel& lm = *model.root;
  lm.check_positions(o.context, o.tokens);

  ProfileReport r;
  r.options = o;
  r.cost.options = {o.batch, o.tokens, o.context, o.decode};
  Passes passes(lm, o);
  ProgressTask task(progress, "profiling", static_cast<uint64_t>(1 + o.warmup + 2 * o.repeat));
  if (o.context > 0) r.context_prefill_s = passes.prefill_context();

  ScopeTimer timer(*o.backend);
  CostCollector collector(r.cost);
  timer.start(0, &collector);
  r.first_forward_s = passes.pass(&timer);
  collector.finish(model);
  const size_t n = r.cost.modules.size();

  // Warm-up alternates like the timed passes so both kinds start warm.
  for (int i = 0; i < o.warmup; ++i) {
    timer.start(n, nullptr);
    passes.pass(i % 2 ? &timer : nullptr);
    task.update(static_cast<uint64_t>(passes.count()));
  }

  const std::vector<int> parent = module_parents(r.cost.modules);
  std::vector<std::vector<double>> inclusive(n), self(n);
  for (int rep = 0; rep < o.repeat; ++rep) {
    // The order inside a pair alternates so that neither kind always follows the other.
    if (rep % 2 == 0) r.plain_s.push_back(passes.pass(nullptr));
    timer.start(n, nullptr);
    r.instrumented_s.push_back(passes.pass(&timer));
    if (rep % 2 == 1) r.plain_s.push_back(passes.pass(nullptr));
    task.update(static_cast<uint64_t>(passes.count()));
    if (timer.scopes() != n)
      fail(ErrorKind::internal, fmt::format("profile: pass {} opened {} scopes, the cold pass {}", rep, timer.scopes(), n));
    std::vector<double> own(n);
    for (size_t i = 0; i < n; ++i) own[i] = timer.inclusive(i);
    for (size_t i = 0; i < n; ++i)
      if (parent[i] >= 0) own[static_cast<size_t>(parent[i])] -= timer.inclusive(i);
    for (size_t i = 0; i < n; ++i) {
      inclusive[i].push_back(timer.inclusive(i));
      self[i].push_back(own[i]);
    }
  }
  r.passes = passes.count();
  r.forward = stats_of(r.plain_s);
  r.instrumented = stats_of(r.instrumented_s);
  std::vector<double> paired;
  for (int i = 0; i < o.repeat; ++i) paired.push_back(r.instrumented_s[i] / r.plain_s[i] - 1);
  r.overhead = stats_of(paired);
  for (size_t i = 0; i < n; ++i) {
    r.inclusive_s.push_back(stats_of(inclusive[i]).median);
    r.self_s.push_back(stats_of(self[i]).median);
  }
  return r;
}

}  // namespace anatomy::analysis
