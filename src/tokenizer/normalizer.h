// Hugging Face normalizers: Sequence, NFC/NFD/NFKC/NFKD (ICU), Prepend and Replace (a string or
// a regex). Each rewrites a text segment and keeps the map from its bytes to input offsets.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/text.h"
#include "tokenizer/unicode.h"

namespace anatomy::tokenizer {

struct Normalizer {
  enum class Kind { sequence, unicode, prepend, replace };
  Kind kind = Kind::sequence;
  std::vector<Normalizer> steps;      // sequence
  NormalForm form = NormalForm::nfc;  // unicode
  std::string text;                   // prepend: the prefix; replace: the literal pattern
  std::shared_ptr<Regex> regex;       // replace with a regex pattern
  std::string content;                // replace: the replacement

  // Rewrites `text`; `origin` (when given) holds one entry per byte plus one for the end.
  void apply(std::string& text, std::vector<uint32_t>* origin) const;
};

}  // namespace anatomy::tokenizer
