// Where the commands that read text get it: the model's own tokenizer (its folder, or a GGUF
// file's vocabulary) unless --tokenizer names one, and text files read whole, bounded.
#pragma once

#include <memory>
#include <string>

#include "tokenizer/tokenizer.h"

namespace anatomy::cli {

// The tokenizer for MODEL (a folder, a checkpoint or config.json inside one, a .gguf, or a
// tokenizer file), or `override` when given. A catalog name has none: the error says to pass one.
std::unique_ptr<tokenizer::Tokenizer> model_tokenizer(const std::string& model, const std::string& override);

// A text file as bytes (≤ 2 GiB); `option` names the option in errors.
std::string read_text(const std::string& path, const std::string& option);

}  // namespace anatomy::cli
