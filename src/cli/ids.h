// Token ids given on the command line: `--ids` (the decoder's input) and `--source-ids` (an
// encoder-decoder's encoder input), each checked against its vocabulary, naming the option.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/module.h"

namespace anatomy::cli {

// "1,2,3" -> ids in [0, vocab); one line naming `option` for anything else.
std::vector<int64_t> parse_ids(const std::string& text, int64_t vocab, const char* option = "--ids");
// The ids as a [1, T] I64 tensor.
Tensor ids_tensor(const std::vector<int64_t>& ids);
// The encoder's input: refused for a model without an encoder; for an encoder-decoder required
// when `required`, else empty when not given.
std::vector<int64_t> source_ids(const std::string& text, const nn::LanguageModel& root, const std::string& architecture,
                                bool required);

}  // namespace anatomy::cli
