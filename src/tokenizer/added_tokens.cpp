#include "tokenizer/added_tokens.h"

#include <algorithm>

#include <unicode/uchar.h>

#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {

namespace {

char32_t decode_at(std::string_view s, size_t i, size_t len) {
  char32_t c = static_cast<uint8_t>(s[i]);
  if (len > 1) {
    c &= 0xFF >> (len + 1);
    for (size_t k = 1; k < len; ++k) c = (c << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
  }
  return c;
}

// The code point that ends just before `end` (0 when none).
char32_t char_before(std::string_view s, size_t end) {
  if (end == 0) return 0;
  size_t i = end - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  const size_t len = utf8_length(s, i);
  return len ? decode_at(s, i, len) : 0xFFFD;
}

char32_t char_at(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  const size_t len = utf8_length(s, i);
  return len ? decode_at(s, i, len) : 0xFFFD;
}

bool is_space(char32_t c) { return c != 0 && u_isUWhiteSpace(static_cast<UChar32>(c)); }
bool is_word(char32_t c) { return c != 0 && u_isalnum(static_cast<UChar32>(c)); }

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<const AddedToken*>& tokens) {
  for (const AddedToken* t : tokens) {
    if (t->content.empty()) continue;
    int32_t node = 0;
    for (const char ch : t->content) {
      const auto b = static_cast<uint8_t>(ch);
      int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& kids = nodes_[node].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{0})), {b, next});
      }
      node = next;
    }
    if (nodes_[node].token < 0) {  // the first token with this content wins
      nodes_[node].token = static_cast<int32_t>(tokens_.size());
      tokens_.push_back(*t);
    }
    first_byte_[static_cast<uint8_t>(t->content[0])] = true;
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  const auto& kids = nodes_[node].children;
  const auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, int32_t{0}));
  return it != kids.end() && it->first == byte ? it->second : -1;
}

bool AddedTokenMatcher::accept(std::string_view text, size_t begin, size_t end, const AddedToken& t) const {
  if (!t.single_word) return true;
  return !is_word(char_before(text, begin)) && !is_word(char_at(text, end));
}

std::vector<AddedMatch> AddedTokenMatcher::find_all(std::string_view text) const {
  std::vector<AddedMatch> out;
  if (empty()) return out;
  size_t i = 0;
  while (i < text.size()) {
    if (!first_byte_[static_cast<uint8_t>(text[i])]) {
      ++i;
      continue;
    }
    // Longest token starting at i.
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t j = i; j < text.size(); ++j) {
      node = child(node, static_cast<uint8_t>(text[j]));
      if (node < 0) break;
      const int32_t t = nodes_[node].token;
      if (t >= 0 && accept(text, i, j + 1, tokens_[t])) {
        best = t;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& t = tokens_[best];
    size_t begin = i, end = best_end;
    const size_t floor = out.empty() ? 0 : out.back().end;
    if (t.lstrip)
      while (begin > floor && is_space(char_before(text, begin))) {
        --begin;
        while (begin > floor && (static_cast<uint8_t>(text[begin]) & 0xC0) == 0x80) --begin;
      }
    if (t.rstrip)
      while (end < text.size() && is_space(char_at(text, end))) end += std::max<size_t>(1, utf8_length(text, end));
    out.push_back({begin, end, t.id});
    i = end;
  }
  return out;
}

}  // namespace anatomy::tokenizer
