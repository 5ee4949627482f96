#include "analysis/guards.h"

#include "backend/device.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/half.h"
#include "nn/module.h"

namespace anatomy::analysis {
namespace {

std::string gib(uint64_t bytes) { return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1ull << 30)); }

template <class Load>
void scan(const Tensor& t, Load load, BadTensor& bad) {
  const auto n = static_cast<int64_t>(t.numel());
  uint64_t nans = 0, infs = 0;
  int64_t first = n;
#pragma omp parallel for reduction(+ : nans, infs) reduction(min : first) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const double v = load(i);
    if (std::isnan(v)) ++nans, first = std::min(first, i);
    else if (std::isinf(v)) ++infs, first = std::min(first, i);
  }
  bad.nans = nans;
  bad.infs = infs;
  bad.first_index = static_cast<uint64_t>(first);
}

}  // namespace

MemoryPlan plan_memory(const models::Model& model, const CostOptions& forward, double bytes_per_element) {
  MemoryPlan plan;
  std::set<const nn::Parameter*> seen;
  for (const auto& ref : nn::parameter_slots(*model.root))
    if (seen.insert(ref.param.get()).second)
      plan.weights += bytes_per_element > 0 ? static_cast<uint64_t>(bytes_per_element * static_cast<double>(ref.param->value.numel()))
                                            : ref.param->value.nbytes();
  const CostReport cost = analyze_cost(model, forward);
  plan.state = cost.memory.engine_state;
  plan.activations = cost.memory.activation_peak;
  return plan;
}


void check_memory(const MemoryPlan& plan, const std::string& what, bool force, const std::string& device) {
  if (force) return;
  const uint64_t available = backend::available_memory();
  if (available > 0 && plan.total() > available)
    fail(ErrorKind::resource,
         fmt::format("{} needs about {} (weights {}, caches {}, activations {}) but {} is available (MemAvailable, "
                     "/proc/meminfo); use --force to try anyway",
                     what, gib(plan.total()), gib(plan.weights), gib(plan.state), gib(plan.activations), gib(available)));
  if (device != "cuda") return;
  const uint64_t gpu = backend::gpu_free_memory();
  if (plan.total() > gpu)
    fail(ErrorKind::resource,
         fmt::format("{} needs about {} on the GPU (weights {}, caches {}, activations {}) but {} of its memory is free; "
                     "use --force to try anyway", what, gib(plan.total()), gib(plan.weights), gib(plan.state),
                     gib(plan.activations), gib(gpu)));
}

std::vector<BadTensor> check_tensors(const models::Model& model, std::vector<std::string>* skipped, Progress& progress) {
  std::vector<BadTensor> out;
  std::set<const nn::Parameter*> seen;
  const auto slots = nn::parameter_slots(*model.root);
  ProgressTask task(progress, "scanning tensors for NaN/Inf", slots.size());
  uint64_t done = 0;
  for (const auto& ref : slots) {
    task.update(++done);
    if (!seen.insert(ref.param.get()).second) continue;
    const Tensor& t = ref.param->value;
    if (t.is_meta()) fail(ErrorKind::internal, "check_tensors: " + ref.path + " has no data");
    BadTensor bad{ref.path};
    const auto* bytes = reinterpret_cast<const std::byte*>(t.raw());
    switch (t.dtype()) {
      case DType::F32: scan(t, [&](int64_t i) { return static_cast<double>(reinterpret_cast<const float*>(bytes)[i]); }, bad); break;
      case DType::F64: scan(t, [&](int64_t i) { return reinterpret_cast<const double*>(bytes)[i]; }, bad); break;
      case DType::BF16: scan(t, [&](int64_t i) { return static_cast<double>(bf16_to_f32(reinterpret_cast<const uint16_t*>(bytes)[i])); }, bad); break;
      case DType::F16: scan(t, [&](int64_t i) { return static_cast<double>(f16_to_f32(reinterpret_cast<const uint16_t*>(bytes)[i])); }, bad); break;
      default:
        if (skipped) skipped->push_back(ref.path + " (" + dtype_name(t.dtype()) + ")");
        continue;
    }
    if (bad.nans || bad.infs) out.push_back(bad);
  }
  return out;
}

namespace {

class FirstNonFinite final : public ops::Observer {
 public:
  explicit FirstNonFinite(const backend::Backend& backend) : backend_(backend) {}
  void begin_scope(const std::string& name, const std::string& type, const Tensor&) override {
    path_.push_back(name);
    types_.push_back(type);
  }
  void end_scope(const Tensor& output) override {
    if (!found_ && !output.is_meta() && output.dtype() == DType::F32 && output.is_contiguous()) {
      const Tensor out = backend_.to_host(output);
      const float* v = out.data<float>();
      if (std::any_of(v, v + out.numel(), [](float x) { return !std::isfinite(x); })) {
        std::string path;
        for (const auto& p : path_) path = nn::join_path(path, p);
        found_ = NonFiniteModule{path.empty() ? "(root)" : path, types_.back()};
      }
    }
    path_.pop_back();
    types_.pop_back();
  }
  void op(const char*, const ops::Cost&) override {}
  const std::optional<NonFiniteModule>& found() const { return found_; }

 private:
  const backend::Backend& backend_;
  std::vector<std::string> path_, types_;
  std::optional<NonFiniteModule> found_;
};

}  // namespace

std::optional<NonFiniteModule> first_non_finite_module(const models::Model& model, const Tensor& ids, const Tensor* source_ids,
                                                       std::shared_ptr<const backend::Backend> backend) {
  FirstNonFinite finder(*backend);
  const ops::Context ctx(std::move(backend), {&finder});
  nn::State state(ids.dim(0), ids.dim(1));
  nn::Run run(ctx, state);
  run.source_ids = source_ids;
  run.scope("", *model.root, ids, [&] { return model.root->forward_ids(run, ids); });
  return finder.found();
}

}  // namespace anatomy::analysis
