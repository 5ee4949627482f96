// Reference: Hugging Face tokenizers, src/normalizers/ (Prepend skips an empty segment; Replace
// substitutes every non-overlapping match, left to right).
#include "tokenizer/normalizer.h"

namespace anatomy::tokenizer {

namespace {

void replace_all(std::string& text, std::vector<uint32_t>* origin, const std::vector<Range>& matches, const std::string& content) {
  if (matches.empty()) return;
  std::string out;
  std::vector<uint32_t> mapped;
  out.reserve(text.size());
  size_t from = 0;
  auto keep = [&](size_t to) {
    out.append(text, from, to - from);
    if (origin) mapped.insert(mapped.end(), origin->begin() + static_cast<ptrdiff_t>(from), origin->begin() + static_cast<ptrdiff_t>(to));
  };
  for (const Range m : matches) {
    keep(m.begin);
    out.append(content);
    if (origin) mapped.insert(mapped.end(), content.size(), (*origin)[m.begin]);
    from = m.end;
  }
  keep(text.size());
  if (origin) {
    mapped.push_back(origin->back());
    *origin = std::move(mapped);
  }
  text = std::move(out);
}

}  // namespace

void Normalizer::apply(std::string& s, std::vector<uint32_t>* origin) const {
  switch (kind) {
    case Kind::sequence:
      for (const auto& step : steps) step.apply(s, origin);
      return;
    case Kind::unicode:
      s = normalize(s, form, origin);
      return;
    case Kind::prepend:
      if (s.empty()) return;
      s.insert(0, text);
      if (origin) origin->insert(origin->begin(), text.size(), origin->front());
      return;
    case Kind::replace: {
      std::vector<Range> matches;
      if (regex) {
        regex->for_each_match(s, [&](size_t b, size_t e) { matches.push_back({static_cast<uint32_t>(b), static_cast<uint32_t>(e)}); });
      } else if (!text.empty()) {
        for (size_t at = s.find(text); at != std::string::npos; at = s.find(text, at + text.size()))
          matches.push_back({static_cast<uint32_t>(at), static_cast<uint32_t>(at + text.size())});
      }
      replace_all(s, origin, matches, content);
      return;
    }
  }
}

}  // namespace anatomy::tokenizer
