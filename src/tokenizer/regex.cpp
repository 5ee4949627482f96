#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include <pcre2.h>

#include <map>

#include "core/error.h"

namespace anatomy::tokenizer {

namespace {

// Bounds the work of one match attempt: ample for the known patterns on any input, and a clear
// error (not a hang) for a pattern that backtracks catastrophically.
constexpr uint32_t kMatchLimit = 10'000'000;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

struct Regex::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  ~Impl() {
    pcre2_match_context_free(context);
    pcre2_code_free(code);
  }
};

Regex::Regex(const std::string& pattern, const std::string& where)
    : impl_(std::make_unique<Impl>()), pattern_(pattern), where_(where) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                              PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &code, &offset, nullptr);
  if (!impl_->code)
    fail(ErrorKind::format, where + ": the regex cannot be compiled (" + pcre2_message(code) + " at offset " +
                                std::to_string(offset) + "): " + pattern);
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter when unavailable
  impl_->context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(impl_->context, kMatchLimit);
}

Regex::~Regex() = default;

void Regex::for_each_match(std::string_view text, const std::function<void(size_t, size_t)>& on_match) const {
  thread_local std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create(1, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t start = 0;
  while (start < text.size()) {
    const int rc = pcre2_match(impl_->code, subject, text.size(), start, PCRE2_NO_UTF_CHECK, data.get(), impl_->context);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) fail(ErrorKind::resource, where_ + ": the regex failed on this input (" + pcre2_message(rc) + ")");
    const PCRE2_SIZE* v = pcre2_get_ovector_pointer(data.get());
    size_t begin = v[0], end = v[1];
    if (end > begin) {
      on_match(begin, end);
      start = end;
    } else {
      // An empty match: step over one character.
      start = end + 1;
      while (start < text.size() && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) ++start;
    }
  }
}

const std::string& known_pattern(const std::string& name) {
  static const std::map<std::string, std::string> patterns = {
      {"gpt-2", R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"},
      {"llama-bpe",
       R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
      {"qwen2",
       R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
  };
  const auto it = patterns.find(name);
  if (it == patterns.end()) fail(ErrorKind::unsupported, "unknown pre-tokenizer '" + name + "' (known: gpt-2, llama-bpe, qwen2)");
  return it->second;
}

std::string known_pattern_name(const std::string& pattern) {
  for (const char* name : {"gpt-2", "llama-bpe", "qwen2"})
    if (known_pattern(name) == pattern) return name;
  return "";
}

}  // namespace anatomy::tokenizer
