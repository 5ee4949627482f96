// Added tokens (Hugging Face's AddedVocabulary): strings matched in the text before anything else,
// leftmost-longest, each becoming one id. Non-normalized ones match the raw text, normalized ones
// the normalized segments; lstrip/rstrip swallow the whitespace beside a match, single_word
// requires word boundaries. A trie keeps matching linear in the text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anatomy::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool normalized = false;
  bool lstrip = false, rstrip = false, single_word = false;
};

struct AddedMatch {
  size_t begin, end;  // the bytes consumed (with stripped whitespace)
  int32_t id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<const AddedToken*>& tokens);
  std::vector<AddedMatch> find_all(std::string_view text) const;
  bool empty() const { return nodes_.size() <= 1; }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                  // index into tokens_ when a token ends here
  };
  int32_t child(int32_t node, uint8_t byte) const;
  bool accept(std::string_view text, size_t begin, size_t end, const AddedToken& t) const;
  std::vector<Node> nodes_{1};
  std::vector<AddedToken> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace anatomy::tokenizer
