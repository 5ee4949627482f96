// A tokenizer's vocabulary: for each id the bytes it stands for in the model's own alphabet (raw
// bytes for byte-level BPE, UTF-8 with '▁' for SentencePiece-style models), the string the file
// writes for it, its type (GGUF's numbering) and its SentencePiece score.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace anatomy::tokenizer {

enum class TokenType : int32_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIndex = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

struct Vocab {
  std::vector<std::string> pieces;   // id -> bytes in the model's alphabet
  std::vector<std::string> display;  // id -> the token as its file spells it ("Ġthe", "<0x0A>")
  std::vector<TokenType> types;
  std::vector<float> scores;         // empty when the format has none
  StringIndex index;                 // pieces -> id (the first id when two share a piece)

  int32_t size() const { return static_cast<int32_t>(pieces.size()); }
  // -1 when absent.
  int32_t find(std::string_view piece) const {
    const auto it = index.find(piece);
    return it == index.end() ? -1 : it->second;
  }
  // Appends a token; ids are dense and in order.
  void add(std::string piece, std::string display_form, TokenType type, float score = 0.0f);
  // The ids of "<0x00>".."<0xFF>" (-1 where missing), for byte fallback.
  std::vector<int32_t> byte_tokens() const;
};

// A vocabulary in the portable form GGUF stores (tokenizer.ggml.*).
struct PortableVocab {
  std::string model;  // "gpt2" (byte-level BPE with merges) or "llama" (SentencePiece scores)
  std::string pre;    // gpt2: the pre-tokenizer's llama.cpp name
  std::vector<std::string> tokens, merges;
  std::vector<float> scores;
  std::vector<int32_t> types;  // TokenType values
  int32_t bos = -1, eos = -1, unk = -1;
  bool add_bos = false, add_eos = false, add_space_prefix = true;
};

}  // namespace anatomy::tokenizer
