// The project's own checkpoint folder (config.json + model.safetensors, or shards + index) and
// deterministic synthetic weights for any model tree (timing and tests need no real weights).
#pragma once

#include "core/progress.h"

#include <cstdint>
#include <string>

#include "backend/backend.h"
#include "io/safetensors.h"
#include "models/model.h"

namespace anatomy::models {

// One tensor per unique parameter, under its canonical name, uniform in [-scale, scale] (norm
// weights 1), in `dtype`; the same seed gives the same bytes.
io::NamedTensors synthetic_weights(const Model& model, uint64_t seed, DType dtype, float scale = 0.02f,
                                   Progress& progress = silent_progress());

// Sets each parameter's value to the tensor of its canonical name (as synthetic_weights names them).
void bind_weights(const Model& model, const io::NamedTensors& weights);
// Freezes the storage of every parameter bound to the model (Storage::freeze): for inference,
// where the weights no longer change and backends may keep packed copies of them. Not for training.
void freeze_weights(const Model& model);

// Copies of the bound F32/BF16/F16 weights converted to `dtype` (the others keep theirs), named
// as synthetic_weights names them; bind them to run the model in that dtype.
io::NamedTensors cast_weights(const Model& model, DType dtype, Progress& progress = silent_progress());

// A heap copy of an F32/BF16/F16 tensor in `dtype` (F32, BF16, F16).
Tensor converted(const Tensor& from, DType dtype);

// The bound weights as they are (stored dtype, no copy), named as synthetic_weights names them.
io::NamedTensors bound_weights(const Model& model);

// Moves every bound parameter to `backend`'s device, once per unique parameter (tied and shared
// ones stay shared), in its stored dtype. Nothing happens on the CPU backend.
void upload_weights(const Model& model, const backend::Backend& backend, Progress& progress = silent_progress());

// Writes dir/config.json and the weights; shards when max_shard_bytes > 0.
void write_checkpoint(const std::string& dir, const json& config, const io::NamedTensors& weights,
                      uint64_t max_shard_bytes = 0);

}  // namespace anatomy::models
