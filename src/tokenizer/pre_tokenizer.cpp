// Reference: Hugging Face tokenizers, src/pre_tokenizers/ and NormalizedString::split. Empty
// pieces are dropped, as Hugging Face drops them.
#include "tokenizer/pre_tokenizer.h"

namespace anatomy::tokenizer {

namespace {

// Splits `piece` at the given matches (absolute ranges, in order) according to `behavior`.
void split_by(Range piece, const std::vector<Range>& matches, SplitBehavior behavior, bool invert, std::vector<Range>& out) {
  // (range, is_match) alternating parts covering the piece.
  std::vector<std::pair<Range, bool>> parts;
  uint32_t at = piece.begin;
  for (const Range m : matches) {
    if (m.begin > at) parts.push_back({{at, m.begin}, invert});
    parts.push_back({m, !invert});
    at = m.end;
  }
  if (at < piece.end) parts.push_back({{at, piece.end}, invert});
  switch (behavior) {
    case SplitBehavior::removed:
      for (const auto& [r, is_match] : parts)
        if (!is_match) out.push_back(r);
      return;
    case SplitBehavior::isolated:
      for (const auto& [r, is_match] : parts) out.push_back(r);
      return;
    case SplitBehavior::merged_with_previous: {
      bool open = false;
      for (const auto& [r, is_match] : parts) {
        if (is_match && open) out.back().end = r.end;
        else out.push_back(r);
        open = !is_match;
      }
      return;
    }
    case SplitBehavior::merged_with_next: {
      bool pending = false;
      for (const auto& [r, is_match] : parts) {
        if (pending) out.back().end = r.end;
        else out.push_back(r);
        pending = is_match;
      }
      return;
    }
    case SplitBehavior::contiguous: {
      bool last_match = false;
      for (const auto& [r, is_match] : parts) {
        if (is_match && last_match) out.back().end = r.end;
        else out.push_back(r);
        last_match = is_match;
      }
      return;
    }
  }
}

std::vector<Range> regex_matches(const Regex& regex, const WorkText& text, Range piece) {
  std::vector<Range> matches;
  regex.for_each_match(text.view(piece), [&](size_t b, size_t e) {
    matches.push_back({piece.begin + static_cast<uint32_t>(b), piece.begin + static_cast<uint32_t>(e)});
  });
  return matches;
}

std::vector<Range> digit_runs(const WorkText& text, Range piece, bool individual) {
  std::vector<Range> matches;
  for (uint32_t i = piece.begin; i < piece.end; ++i) {
    if (text.bytes[i] < '0' || text.bytes[i] > '9') continue;
    if (!individual && !matches.empty() && matches.back().end == i) matches.back().end = i + 1;
    else matches.push_back({i, i + 1});
  }
  return matches;
}

// Metaspace: spaces become the replacement, a prefix is added per the scheme, then (optionally)
// the piece splits before each replacement.
Range metaspace_rewrite(const PreTokenizer& p, WorkText& text, Range piece, bool first) {
  std::string rewritten;
  std::vector<uint32_t> origins;
  const bool prepend = p.prepend_scheme == PrependScheme::always || (p.prepend_scheme == PrependScheme::first && first);
  const std::string_view s = text.view(piece);
  if (prepend && s.substr(0, p.replacement.size()) != p.replacement && !(s.size() && s[0] == ' ')) {
    rewritten = p.replacement;
    if (text.tracked) origins.assign(p.replacement.size(), text.origin_of(piece.begin));
  }
  for (uint32_t i = piece.begin; i < piece.end; ++i) {
    const bool space = text.bytes[i] == ' ';
    if (space) rewritten += p.replacement;
    else rewritten += text.bytes[i];
    if (text.tracked) origins.insert(origins.end(), space ? p.replacement.size() : 1, text.origin[i]);
  }
  return text.append_mapped(rewritten, origins);
}

}  // namespace

void PreTokenizer::apply(WorkText& text, std::vector<Range>& pieces, std::vector<bool>& first) const {
  if (kind == Kind::sequence) {
    for (const auto& step : steps) step.apply(text, pieces, first);
    return;
  }
  std::vector<Range> out;
  std::vector<bool> out_first;
  out.reserve(pieces.size());
  for (size_t k = 0; k < pieces.size(); ++k) {
    Range piece = pieces[k];
    const size_t before = out.size();
    switch (kind) {
      case Kind::split:
        split_by(piece, regex_matches(*regex, text, piece), behavior, invert, out);
        break;
      case Kind::byte_level:
        if (add_prefix_space && text.bytes[piece.begin] != ' ') piece = text.append(" ", text.origin_of(piece.begin), piece);
        if (regex) split_by(piece, regex_matches(*regex, text, piece), SplitBehavior::isolated, false, out);
        else out.push_back(piece);
        break;
      case Kind::metaspace: {
        piece = metaspace_rewrite(*this, text, piece, first[k]);
        if (!split) {
          out.push_back(piece);
          break;
        }
        std::vector<Range> marks;
        const std::string_view s = text.view(piece);
        for (size_t at = s.find(replacement); at != std::string_view::npos; at = s.find(replacement, at + replacement.size()))
          marks.push_back({piece.begin + static_cast<uint32_t>(at), piece.begin + static_cast<uint32_t>(at + replacement.size())});
        split_by(piece, marks, SplitBehavior::merged_with_next, false, out);
        break;
      }
      case Kind::digits:
        split_by(piece, digit_runs(text, piece, individual_digits), SplitBehavior::isolated, false, out);
        break;
      case Kind::sequence:
        break;
    }
    // Only the first sub-piece of a piece that started the input still starts it.
    for (size_t i = before; i < out.size(); ++i) out_first.push_back(first[k] && i == before);
  }
  // Drop empty pieces.
  size_t w = 0;
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].size()) {
      out[w] = out[i];
      out_first[w] = out_first[i];
      ++w;
    }
  out.resize(w);
  out_first.resize(w);
  pieces = std::move(out);
  first = std::move(out_first);
}

}  // namespace anatomy::tokenizer
