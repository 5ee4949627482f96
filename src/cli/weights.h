// The weights a command runs with, shared by run and profile: synthetic (asked for, or the source
// has no checkpoint: a catalog name or a bare config.json) or the checkpoint mapped in its stored
// dtype, converted only when a dtype is asked for explicitly. The choice is made first, so that
// the memory it needs is checked before anything is loaded.
#pragma once

#include <optional>
#include <string>

#include "analysis/cost.h"
#include "backend/backend.h"
#include "core/progress.h"
#include "io/safetensors.h"
#include "models/loader.h"

namespace anatomy::cli {

struct WeightChoice {
  bool synthetic = false;
  DType synthetic_dtype = DType::F32;
  std::optional<DType> cast_to;  // checkpoint weights converted in memory
};
// `dtype`: "" keeps stored weights as they are (synthetic: the model's bf16/f16, else f32).
WeightChoice choose_weights(const models::LoadedModel& loaded, bool random, const std::string& dtype);

// Refuses (unless `force`) when weights, caches and activations of `forward` exceed MemAvailable,
// or on --device cuda the GPU's free memory.
void guard_memory(const models::LoadedModel& loaded, const WeightChoice& choice, const analysis::CostOptions& forward,
                  bool force, const std::string& device = "cpu");

struct Weights {
  bool synthetic = false;
  DType dtype = DType::F32;   // the dtype holding most parameters
  std::string description;    // one line for the report
  io::NamedTensors owned;     // synthetic or converted tensors the model points into
};
Weights prepare_weights(models::LoadedModel& loaded, const WeightChoice& choice, uint64_t seed, Progress& progress);

// The backend `device` names (--device cpu|cuda) with the model's weights moved onto it (once per
// unique parameter; nothing moves on the CPU).
std::shared_ptr<const backend::Backend> place_weights(models::LoadedModel& loaded, const std::string& device,
                                                      Progress& progress);

// The CPU threads a command computes with, and the prefill GEMM paths `anatomy device` calibrated
// for this machine and build (built-in defaults when none are cached).
void use_threads_and_gemm_plan(int threads);

// Fails naming every tensor with NaN or Inf (name, first index, counts).
void require_finite_weights(const models::LoadedModel& loaded, Progress& progress);

}  // namespace anatomy::cli
