// Reference: Hugging Face tokenizers, src/decoders/ (each decoder's decode_chain).
#include "tokenizer/decoder.h"

#include <string_view>

#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {

namespace {

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  std::string out;
  size_t at = 0;
  for (size_t hit = s.find(from); hit != std::string::npos; hit = s.find(from, at)) {
    out.append(s, at, hit - at);
    out += to;
    at = hit + from.size();
  }
  out.append(s, at);
  return out;
}

// "<0x41>" -> 0x41; -1 for anything else.
int byte_token(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return -1;
  int v = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = t[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

void byte_fallback(std::vector<std::string>& tokens) {
  std::vector<std::string> out;
  std::string bytes;
  auto flush = [&] {
    if (bytes.empty()) return;
    size_t bad = 0;
    const std::string repaired = repair_utf8(bytes, &bad);
    // Invalid bytes become one U+FFFD each, as Hugging Face's ByteFallback does.
    if (bad) {
      for (size_t i = 0; i < bytes.size(); ++i) out.push_back("\uFFFD");
    } else {
      out.push_back(repaired);
    }
    bytes.clear();
  };
  for (auto& t : tokens) {
    const int b = byte_token(t);
    if (b >= 0) {
      bytes.push_back(static_cast<char>(b));
      continue;
    }
    flush();
    out.push_back(std::move(t));
  }
  flush();
  tokens = std::move(out);
}

void strip(std::vector<std::string>& tokens, const std::string& content, size_t start, size_t stop) {
  for (auto& t : tokens) {
    size_t cut_left = 0, cut_right = 0;
    for (size_t k = 0; k < start && t.compare(cut_left, content.size(), content) == 0; ++k) cut_left += content.size();
    for (size_t k = 0; k < stop && t.size() >= cut_left + cut_right + content.size() &&
                       t.compare(t.size() - cut_right - content.size(), content.size(), content) == 0;
         ++k)
      cut_right += content.size();
    t = t.substr(cut_left, t.size() - cut_left - cut_right);
  }
}

}  // namespace

void Decoder::apply(std::vector<std::string>& tokens) const {
  switch (kind) {
    case Kind::sequence:
      for (const auto& step : steps) step.apply(tokens);
      return;
    case Kind::byte_level: {
      // Tokens back to bytes (a token with a character outside the alphabet stays as it is), then
      // one lossy UTF-8 conversion of the whole.
      std::string bytes, raw;
      for (const auto& t : tokens) bytes += byte_level_decode(t, raw) ? raw : t;
      tokens.assign(1, repair_utf8(bytes));
      return;
    }
    case Kind::metaspace:
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all(tokens[i], replacement, " ");
        if (i == 0 && prepend && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
      }
      return;
    case Kind::replace:
      for (auto& t : tokens) t = replace_all(t, pattern, content);
      return;
    case Kind::byte_fallback:
      byte_fallback(tokens);
      return;
    case Kind::fuse: {
      std::string all;
      for (const auto& t : tokens) all += t;
      tokens.assign(1, all);
      return;
    }
    case Kind::strip:
      strip(tokens, content, start, stop);
      return;
  }
}

}  // namespace anatomy::tokenizer
