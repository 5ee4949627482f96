// A compiled pre-tokenizer pattern: PCRE2 in UTF + UCP mode (\p{L}, \s and \d over all of
// Unicode, as Oniguruma does for Hugging Face), JIT-compiled, with a match limit so that a hostile
// pattern fails with an error instead of running for ever. Subjects must be valid UTF-8.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace anatomy::tokenizer {

class Regex {
 public:
  // `where` names the pattern's file and field in errors.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls on_match(begin, end) for each non-overlapping match in `text`, left to right (offsets
  // relative to `text`). Empty matches are skipped, as Hugging Face's Split does.
  void for_each_match(std::string_view text, const std::function<void(size_t, size_t)>& on_match) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string pattern_, where_;
};

// The three Split patterns of the supported byte-level vocabularies, by llama.cpp's pre-tokenizer
// names ("gpt-2", "llama-bpe", "qwen2"); and the reverse, "" when a pattern is none of them.
const std::string& known_pattern(const std::string& name);
std::string known_pattern_name(const std::string& pattern);

}  // namespace anatomy::tokenizer
