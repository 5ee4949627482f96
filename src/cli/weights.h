// The weights a command runs with, shared by run and profile: synthetic (asked for, or the source
// has no checkpoint: a catalog name or a bare config.json) or the checkpoint mapped in its stored
// dtype, converted only when a dtype is asked for explicitly.
#pragma once

#include <string>

#include "io/safetensors.h"
#include "models/loader.h"

namespace anatomy::cli {

struct Weights {
  bool synthetic = false;
  DType dtype = DType::F32;   // the dtype holding most parameters
  std::string description;    // one line for the report
  io::NamedTensors owned;     // synthetic or converted tensors the model points into
};

// `dtype`: "" keeps stored weights as they are (synthetic: the model's bf16/f16, else f32).
Weights prepare_weights(models::LoadedModel& loaded, bool random, uint64_t seed, const std::string& dtype);

}  // namespace anatomy::cli
