// UTF-8 repair follows the W3C/WHATWG "maximal subpart" rule (Unicode 15 §3.9, U+FFFD
// substitution of maximal subparts), which is what Rust and V8 do, so anatomy's ids agree with
// the Rust tokenizers library fed the same file through JavaScript.
#include "tokenizer/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/edits.h>
#include <unicode/normalizer2.h>

#include "core/error.h"

namespace anatomy::tokenizer {

namespace {

// The valid range of the second byte after lead byte `b` (Table 3-7 of the Unicode standard).
bool second_byte_ok(uint8_t lead, uint8_t b) {
  if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
  if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
  if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
  if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
  return b >= 0x80 && b <= 0xBF;
}

size_t expected_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// How many bytes of the (possibly truncated) sequence at s[i] are a valid prefix; 0 for a bad lead.
size_t valid_prefix(std::string_view s, size_t i, size_t need) {
  const auto lead = static_cast<uint8_t>(s[i]);
  size_t n = 1;
  while (n < need && i + n < s.size()) {
    const auto b = static_cast<uint8_t>(s[i + n]);
    const bool ok = n == 1 ? second_byte_ok(lead, b) : (b >= 0x80 && b <= 0xBF);
    if (!ok) break;
    ++n;
  }
  return n;
}

}  // namespace

size_t utf8_length(std::string_view s, size_t i) {
  const size_t need = expected_length(static_cast<uint8_t>(s[i]));
  if (need <= 1) return need;
  return valid_prefix(s, i, need) == need ? need : 0;
}

std::string repair_utf8(std::string_view text, size_t* replaced) {
  std::string out;
  size_t count = 0, i = 0, clean_from = 0;
  while (i < text.size()) {
    if (static_cast<uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = utf8_length(text, i);
    if (len) {
      i += len;
      continue;
    }
    if (count == 0) out.reserve(text.size() + 16);
    out.append(text.substr(clean_from, i - clean_from));
    out.append("\xEF\xBF\xBD");
    ++count;
    const size_t need = expected_length(static_cast<uint8_t>(text[i]));
    i += need ? valid_prefix(text, i, need) : 1;
    clean_from = i;
  }
  if (replaced) *replaced = count;
  if (count == 0) return std::string(text);
  out.append(text.substr(clean_from));
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

const std::array<char32_t, 256>& byte_level_chars() {
  // Printable Latin-1 bytes map to themselves; the others to U+0100 onwards, in byte order.
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      t[b] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

int byte_level_byte(char32_t c) {
  static const std::array<int16_t, 324> inverse = [] {
    std::array<int16_t, 324> inv;
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) inv[byte_level_chars()[b]] = static_cast<int16_t>(b);
    return inv;
  }();
  return c < inverse.size() ? inverse[c] : -1;
}

bool byte_level_decode(std::string_view token, std::string& bytes) {
  bytes.clear();
  for (size_t i = 0; i < token.size();) {
    const size_t len = utf8_length(token, i);
    if (len == 0) return false;
    char32_t c = static_cast<uint8_t>(token[i]);
    if (len > 1) {
      c &= 0xFF >> (len + 1);
      for (size_t k = 1; k < len; ++k) c = (c << 6) | (static_cast<uint8_t>(token[i + k]) & 0x3F);
    }
    const int b = byte_level_byte(c);
    if (b < 0) return false;
    bytes.push_back(static_cast<char>(b));
    i += len;
  }
  return true;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  for (const char b : bytes) append_utf8(out, byte_level_chars()[static_cast<uint8_t>(b)]);
  return out;
}

namespace {

const icu::Normalizer2& normalizer_for(NormalForm form) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case NormalForm::nfc: n = icu::Normalizer2::getNFCInstance(status); break;
    case NormalForm::nfd: n = icu::Normalizer2::getNFDInstance(status); break;
    case NormalForm::nfkc: n = icu::Normalizer2::getNFKCInstance(status); break;
    case NormalForm::nfkd: n = icu::Normalizer2::getNFKDInstance(status); break;
  }
  if (U_FAILURE(status) || !n) fail(ErrorKind::internal, std::string("ICU normalizer unavailable: ") + u_errorName(status));
  return *n;
}

}  // namespace

std::string normalize(std::string_view text, NormalForm form, std::vector<uint32_t>* origin) {
  const icu::Normalizer2& n = normalizer_for(form);
  UErrorCode status = U_ZERO_ERROR;
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  if (n.isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return std::string(text);
  status = U_ZERO_ERROR;
  std::string out;
  icu::StringByteSink<std::string> sink(&out);
  icu::Edits edits;
  n.normalizeUTF8(0, piece, sink, origin ? &edits : nullptr, status);
  if (U_FAILURE(status)) fail(ErrorKind::format, std::string("Unicode normalization failed: ") + u_errorName(status));
  if (!origin) return out;
  // Unchanged spans map byte for byte; a changed span maps every output byte to its start.
  std::vector<uint32_t> mapped(out.size() + 1);
  auto it = edits.getFineIterator();
  while (it.next(status)) {
    const auto src = static_cast<size_t>(it.sourceIndex()), dst = static_cast<size_t>(it.destinationIndex());
    for (int32_t k = 0; k < it.newLength(); ++k)
      mapped[dst + k] = (*origin)[src + (it.hasChange() ? 0 : static_cast<size_t>(k))];
  }
  mapped[out.size()] = origin->back();
  *origin = std::move(mapped);
  return out;
}

}  // namespace anatomy::tokenizer
