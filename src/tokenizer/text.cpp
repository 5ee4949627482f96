#include "tokenizer/text.h"

#include <cstddef>

namespace anatomy::tokenizer {

Range WorkText::append(std::string_view prefix, uint32_t at, Range from) {
  const auto begin = static_cast<uint32_t>(bytes.size());
  bytes.reserve(bytes.size() + prefix.size() + from.size());  // `from` points into `bytes`
  bytes.append(prefix);
  bytes.append(bytes.data() + from.begin, from.size());
  if (tracked) {
    origin.insert(origin.end(), prefix.size(), at);
    for (uint32_t i = from.begin; i < from.end; ++i) origin.push_back(origin[i]);
  }
  return {begin, static_cast<uint32_t>(bytes.size())};
}

Range WorkText::append_mapped(std::string_view text, const std::vector<uint32_t>& origins) {
  const auto begin = static_cast<uint32_t>(bytes.size());
  bytes.append(text);
  if (tracked) origin.insert(origin.end(), origins.begin(), origins.begin() + static_cast<std::ptrdiff_t>(text.size()));
  return {begin, static_cast<uint32_t>(bytes.size())};
}

}  // namespace anatomy::tokenizer
