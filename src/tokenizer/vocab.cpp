#include "tokenizer/vocab.h"

#include <fmt/format.h>

namespace anatomy::tokenizer {

void Vocab::add(std::string piece, std::string display_form, TokenType type, float score) {
  const auto id = static_cast<int32_t>(pieces.size());
  index.try_emplace(piece, id);
  pieces.push_back(std::move(piece));
  display.push_back(std::move(display_form));
  types.push_back(type);
  if (!scores.empty() || score != 0.0f) {
    scores.resize(pieces.size() - 1, 0.0f);
    scores.push_back(score);
  }
}

std::vector<int32_t> Vocab::byte_tokens() const {
  std::vector<int32_t> ids(256, -1);
  for (int b = 0; b < 256; ++b) ids[b] = find(fmt::format("<0x{:02X}>", b));
  return ids;
}

}  // namespace anatomy::tokenizer
