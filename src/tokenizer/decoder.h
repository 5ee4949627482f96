// Hugging Face decoders, applied to the list of token strings as its decode_chain does:
// Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip. No decoder joins with spaces.
#pragma once

#include <string>
#include <vector>

namespace anatomy::tokenizer {

struct Decoder {
  enum class Kind { sequence, byte_level, metaspace, replace, byte_fallback, fuse, strip };
  Kind kind = Kind::sequence;
  std::vector<Decoder> steps;          // sequence
  std::string pattern, content;        // replace: literal pattern -> content; strip: the character
  std::string replacement = "\u2581";  // metaspace
  bool prepend = true;                 // metaspace: strip the space its prefix became
  size_t start = 0, stop = 0;          // strip: how many leading / trailing `content` to remove

  void apply(std::vector<std::string>& tokens) const;
};

}  // namespace anatomy::tokenizer
