// Resource guards for files from strangers: the memory a command will need, predicted from the
// model tree and a meta run before any weight is loaded, checked against what the machine has;
// and a scan of the weights for NaN and Inf.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analysis/cost.h"
#include "backend/backend.h"
#include "core/progress.h"
#include "models/model.h"

namespace anatomy::analysis {

struct MemoryPlan {
  uint64_t weights = 0;      // every unique parameter as the command will hold it
  uint64_t state = 0;        // KV caches and SSM/conv states the engine allocates (f32)
  uint64_t activations = 0;  // peak of live activations in the forward
  uint64_t total() const { return weights + state + activations; }
};

// `weight_bytes_per_element`: 0 keeps each parameter's own dtype (mapped checkpoints).
MemoryPlan plan_memory(const models::Model& model, const CostOptions& forward, double weight_bytes_per_element);
// Throws a resource error naming what needs the memory, unless `force`. On "cuda" the weights,
// caches and activations must also fit the GPU's free memory.
void check_memory(const MemoryPlan& plan, const std::string& what, bool force, const std::string& device = "cpu");

struct BadTensor {
  std::string name;
  uint64_t first_index = 0;  // of the first non-finite element
  uint64_t nans = 0, infs = 0;
};
// Non-finite values in the bound weights (F32, F64, BF16, F16; other dtypes are listed in
// `skipped`). Shared parameters are scanned once, under their canonical name.
std::vector<BadTensor> check_tensors(const models::Model& model, std::vector<std::string>* skipped = nullptr,
                                     Progress& progress = silent_progress());

// Runs the forward of `ids` again (fresh state) and returns the path and type of the first module
// whose output holds NaN or Inf — the innermost one, in execution order; nullopt when none does.
struct NonFiniteModule {
  std::string path, type;
};
std::optional<NonFiniteModule> first_non_finite_module(const models::Model& model, const Tensor& ids,
                                                       const Tensor* source_ids = nullptr,
                                                       std::shared_ptr<const backend::Backend> backend = backend::cpu());

}  // namespace anatomy::analysis
