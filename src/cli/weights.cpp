#include "cli/weights.h"

#include <algorithm>

#include <fmt/format.h>

#include "analysis/device.h"
#include "analysis/guards.h"
#include "analysis/params.h"
#include "core/error.h"
#include "models/checkpoint.h"

namespace anatomy::cli {
namespace {

// The dtype holding most parameter bytes (from the parameter accounting `inspect` prints).
DType main_dtype(const models::Model& model) {
  const auto by_dtype = analysis::count_params(model).by_dtype;
  const auto most = std::max_element(by_dtype.begin(), by_dtype.end(),
                                     [](const auto& a, const auto& b) { return a.second.bytes < b.second.bytes; });
  return most == by_dtype.end() ? DType::F32 : *dtype_from_string(most->first);
}

}  // namespace

WeightChoice choose_weights(const models::LoadedModel& lm, bool random, const std::string& dtype) {
  std::optional<DType> wanted;
  if (!dtype.empty()) {
    wanted = dtype_from_string(dtype);
    if (!wanted || (*wanted != DType::F32 && *wanted != DType::BF16 && *wanted != DType::F16))
      fail(ErrorKind::config, fmt::format("--dtype: '{}' is not one of f32, bf16, f16", dtype));
  }
  WeightChoice c;
  if (random || !lm.has_weights()) {
    c.synthetic = true;
    const DType own = lm.model.dtype == DType::BF16 || lm.model.dtype == DType::F16 ? lm.model.dtype : DType::F32;
    c.synthetic_dtype = wanted.value_or(own);
  } else if (wanted && *wanted != main_dtype(lm.model)) {
    c.cast_to = wanted;
  }
  return c;
}

void guard_memory(const models::LoadedModel& lm, const WeightChoice& c, const analysis::CostOptions& forward, bool force,
                  const std::string& device) {
  const double per_element = c.synthetic ? dtype_info(c.synthetic_dtype).block_bytes
                             : c.cast_to ? dtype_info(*c.cast_to).block_bytes
                                         : 0.0;
  const auto plan = analysis::plan_memory(lm.model, forward, per_element);
  analysis::check_memory(plan, lm.source, force, device);
}

Weights prepare_weights(models::LoadedModel& lm, const WeightChoice& c, uint64_t seed, Progress& progress) {
  Weights w;
  if (c.synthetic) {
    w.synthetic = true;
    w.dtype = c.synthetic_dtype;
    w.owned = models::synthetic_weights(lm.model, seed, w.dtype, 0.02f, progress);
    models::bind_weights(lm.model, w.owned);
    w.description = fmt::format("synthetic (seed {}, {}): timings valid; predictions and quality figures meaningless", seed,
                                dtype_name(w.dtype));
    models::freeze_weights(lm.model);  // inference only: backends may keep packed copies
    return w;
  }
  models::map_weights(lm);
  const bool copied = std::any_of(lm.binding.begin(), lm.binding.end(),
                                  [](const auto& b) { return !b.second->archive_entry.empty(); });
  w.description = fmt::format("checkpoint {} ({}, {})", lm.source,
                              copied ? "read into memory: zip storages cannot be mapped" : "mapped",
                              dtype_name(main_dtype(lm.model)));
  if (c.cast_to) {
    w.owned = models::cast_weights(lm.model, *c.cast_to, progress);
    models::bind_weights(lm.model, w.owned);
    w.description = fmt::format("checkpoint {} (converted to {} in memory)", lm.source, dtype_name(*c.cast_to));
  }
  w.dtype = main_dtype(lm.model);
  models::freeze_weights(lm.model);
  return w;
}

void require_finite_weights(const models::LoadedModel& lm, Progress& progress) {
  const auto bad = analysis::check_tensors(lm.model, nullptr, progress);
  if (bad.empty()) return;
  std::string list;
  for (size_t i = 0; i < bad.size() && i < 5; ++i)
    list += fmt::format("{}{} (first at index {}; {} NaN, {} Inf)", i ? ", " : "", bad[i].name, bad[i].first_index,
                        bad[i].nans, bad[i].infs);
  if (bad.size() > 5) list += fmt::format(", … {} more", bad.size() - 5);
  fail(ErrorKind::format, fmt::format("{}: {} tensor{} with non-finite values: {}", lm.source, bad.size(),
                                      bad.size() == 1 ? "" : "s", list));
}

std::shared_ptr<const backend::Backend> place_weights(models::LoadedModel& loaded, const std::string& device,
                                                      Progress& progress) {
  auto backend = backend::for_device(device);
  models::upload_weights(loaded.model, *backend, progress);
  return backend;
}

void use_threads_and_gemm_plan(int threads) {
  backend::set_threads(threads);
  analysis::use_calibrated_gemm_plan();
}

}  // namespace anatomy::cli
