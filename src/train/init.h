// Initial weights for training from scratch, by parameter role, as the reference trainers do:
// matrices and embeddings N(0, 0.02) (nanoGPT, GPT-2, Llama's initializer_range), residual output
// projections (c_proj, o_proj, down_proj, out_proj, w_concat, linear2) N(0, 0.02/√(2·layers)) as
// GPT-2 does, biases 0, norm scales 1 (shifts 0), depthwise convolutions U(±1/√K) (PyTorch's
// Conv1d default), and Mamba2's A_log = log(1…H), D = 1, dt_bias = softplus⁻¹(Δ) with Δ
// log-uniform in [0.001, 0.1] (transformers' Mamba2 initialisation).
#pragma once

#include <cstdint>

#include "io/safetensors.h"
#include "models/model.h"

namespace anatomy::train {

// One F32 tensor per unique parameter under its canonical name (bind with models::bind_weights).
io::NamedTensors initial_weights(const models::Model& model, int64_t layers, uint64_t seed);

}  // namespace anatomy::train
