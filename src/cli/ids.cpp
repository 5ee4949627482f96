#include "cli/ids.h"

#include <sstream>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::cli {

std::vector<int64_t> parse_ids(const std::string& text, int64_t vocab, const char* option) {
  std::vector<int64_t> ids;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty() || v < 0 || v >= vocab)
      fail(ErrorKind::config, fmt::format("{}: '{}' is not a token id in [0, {})", option, item, vocab));
    ids.push_back(v);
  }
  if (ids.empty()) fail(ErrorKind::config, fmt::format("{}: no token ids given", option));
  return ids;
}

Tensor ids_tensor(const std::vector<int64_t>& ids) {
  Tensor t = Tensor::empty(DType::I64, {1, static_cast<int64_t>(ids.size())});
  std::copy(ids.begin(), ids.end(), t.data<int64_t>());
  return t;
}

std::vector<int64_t> source_ids(const std::string& text, const nn::LanguageModel& root, const std::string& architecture,
                                bool required) {
  if (root.source_vocab_size() == 0) {
    if (!text.empty()) fail(ErrorKind::config, "--source-ids: " + architecture + " has no encoder");
    return {};
  }
  if (text.empty()) {
    if (!required) return {};
    fail(ErrorKind::config, "--source-ids: " + architecture + " is an encoder-decoder; give the encoder's input "
                            "(--ids is the decoder's)");
  }
  return parse_ids(text, root.source_vocab_size(), "--source-ids");
}

}  // namespace anatomy::cli
