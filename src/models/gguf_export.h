// Writes a model with bound weights as a GGUF file in llama.cpp's conventions: GGUF tensor
// names and layouts (io/gguf_names.cpp), hyper-parameters from the config, and the model's own
// tokenizer (a placeholder vocabulary when `tok` is null). Used to run the same weights in
// llama.cpp for comparison.
#pragma once

#include <string>

#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace anatomy::models {

void export_gguf(const Model& model, const std::string& path, const tokenizer::Tokenizer* tok);

}  // namespace anatomy::models
