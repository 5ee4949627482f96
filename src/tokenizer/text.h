// The text between the tokenizer's stages: one byte buffer that stages append to, pieces as byte
// ranges into it, and (when offsets are wanted) the input offset of every byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anatomy::tokenizer {

struct Range {
  uint32_t begin = 0, end = 0;
  uint32_t size() const { return end - begin; }
};

struct WorkText {
  std::string bytes;
  std::vector<uint32_t> origin;  // origin[i]: input offset of bytes[i]; empty when not tracked
  bool tracked = false;

  std::string_view view(Range r) const { return std::string_view(bytes).substr(r.begin, r.size()); }
  // Appends `prefix` (attributed to input offset `at`) then the bytes of `from`; returns the new range.
  Range append(std::string_view prefix, uint32_t at, Range from);
  // Appends bytes of a new region with their origins (origins ignored when not tracked).
  Range append_mapped(std::string_view text, const std::vector<uint32_t>& origins);
  uint32_t origin_of(uint32_t i) const { return tracked ? origin[i] : i; }
};

}  // namespace anatomy::tokenizer
