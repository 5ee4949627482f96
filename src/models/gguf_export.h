// Writes a model with bound weights as a GGUF file in llama.cpp's conventions: GGUF tensor
// names and layouts (io/gguf_names.cpp), hyper-parameters from the config, a placeholder
// vocabulary. Used to run the same weights in llama.cpp for comparison.
#pragma once

#include <string>

#include "models/model.h"

namespace anatomy::models {

void export_gguf(const Model& model, const std::string& path);

}  // namespace anatomy::models
