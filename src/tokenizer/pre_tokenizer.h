// Hugging Face pre-tokenizers: Sequence, Split (a regex or a string, with its five behaviours),
// ByteLevel (GPT-2's regex and prefix space; the byte alphabet itself is the model's business),
// Metaspace and Digits. Each turns a list of pieces of a WorkText into a finer one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/regex.h"
#include "tokenizer/text.h"

namespace anatomy::tokenizer {

enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };
enum class PrependScheme { always, first, never };

struct PreTokenizer {
  enum class Kind { sequence, split, byte_level, metaspace, digits };
  Kind kind = Kind::sequence;
  std::vector<PreTokenizer> steps;  // sequence
  std::shared_ptr<Regex> regex;     // split (a string pattern is compiled as its quoted regex); byte_level with use_regex
  SplitBehavior behavior = SplitBehavior::isolated;
  bool invert = false;
  bool add_prefix_space = false;    // byte_level
  std::string replacement = "\u2581";  // metaspace
  PrependScheme prepend_scheme = PrependScheme::always;
  bool split = true;                // metaspace
  bool individual_digits = false;   // digits

  // `first` holds, for each piece, whether it starts the input (Metaspace's "first" scheme).
  void apply(WorkText& text, std::vector<Range>& pieces, std::vector<bool>& first) const;
};

}  // namespace anatomy::tokenizer
