// UTF-8 helpers for the tokenizers: lossy repair of invalid input (as Rust's
// String::from_utf8_lossy and JavaScript's TextDecoder do: one U+FFFD per maximal invalid
// subpart), GPT-2's byte-level alphabet (bytes_to_unicode), and Unicode normalization through ICU
// with a byte alignment back to the input.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace anatomy::tokenizer {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is not well formed.
size_t utf8_length(std::string_view s, size_t i);

// `text` with each maximal invalid subpart replaced by U+FFFD; `replaced` counts them.
std::string repair_utf8(std::string_view text, size_t* replaced = nullptr);

// Appends the UTF-8 encoding of code point `c`.
void append_utf8(std::string& out, char32_t c);

// GPT-2's reversible byte -> printable code point map, and its inverse (-1 for code points that
// are not in the alphabet).
const std::array<char32_t, 256>& byte_level_chars();
int byte_level_byte(char32_t c);

// Decodes a byte-level token ("Ġthe") to its raw bytes (" the"); false when a character is
// outside the alphabet (the token is then not reachable from bytes).
bool byte_level_decode(std::string_view token, std::string& bytes);
std::string byte_level_encode(std::string_view bytes);

enum class NormalForm { nfc, nfd, nfkc, nfkd };

// Normalizes `text`; when `origin` is given it is rewritten to map each output byte (and the end)
// to the input offset that `origin` gave the input byte where its change began.
std::string normalize(std::string_view text, NormalForm form, std::vector<uint32_t>* origin);

}  // namespace anatomy::tokenizer
