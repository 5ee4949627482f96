#include "cli/weights.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "models/checkpoint.h"
#include "nn/module.h"

namespace anatomy::cli {
namespace {

DType main_dtype(const models::Model& model) {
  std::map<DType, uint64_t> bytes;
  std::set<const nn::Parameter*> seen;
  for (const auto& ref : nn::parameter_slots(*model.root))
    if (seen.insert(ref.param.get()).second) bytes[ref.param->value.dtype()] += ref.param->value.nbytes();
  DType best = DType::F32;
  uint64_t most = 0;
  for (const auto& [d, b] : bytes)
    if (b > most) best = d, most = b;
  return best;
}

}  // namespace

Weights prepare_weights(models::LoadedModel& lm, bool random, uint64_t seed, const std::string& dtype) {
  std::optional<DType> wanted;
  if (!dtype.empty()) {
    wanted = dtype_from_string(dtype);
    if (!wanted || (*wanted != DType::F32 && *wanted != DType::BF16 && *wanted != DType::F16))
      fail(ErrorKind::config, fmt::format("--dtype: '{}' is not one of f32, bf16, f16", dtype));
  }
  Weights w;
  if (random || !lm.has_weights()) {
    const DType stored = lm.model.dtype == DType::BF16 || lm.model.dtype == DType::F16 ? lm.model.dtype : DType::F32;
    w.synthetic = true;
    w.dtype = wanted.value_or(stored);
    w.owned = models::synthetic_weights(lm.model, seed, w.dtype);
    models::bind_weights(lm.model, w.owned);
    w.description = fmt::format("synthetic (seed {}, {}): timings valid; predictions and quality figures meaningless", seed, dtype_name(w.dtype));
    return w;
  }
  models::map_weights(lm);
  w.description = fmt::format("checkpoint {} (mapped, {})", lm.source, dtype_name(main_dtype(lm.model)));
  if (wanted && *wanted != main_dtype(lm.model)) {
    w.owned = models::cast_weights(lm.model, *wanted);
    models::bind_weights(lm.model, w.owned);
    w.description = fmt::format("checkpoint {} (converted to {} in memory)", lm.source, dtype_name(*wanted));
  }
  w.dtype = main_dtype(lm.model);
  return w;
}

}  // namespace anatomy::cli
