// One Family object per file in this folder; registry.cpp lists them in one table.
#pragma once

#include "models/registry.h"

namespace anatomy::models {

extern const Family kLlama, kMistral, kQwen2, kQwen3, kGpt2, kNanoGpt, kTransformerEncDec,
    kMamba2, kNemotronH, kZamba2;

}  // namespace anatomy::models
