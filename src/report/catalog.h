// The words of a report in one language: message catalogs (messages/<lang>.json, embedded at build
// time) and the number formats of that language. Technical identifiers (module names, dtypes, op
// types) are never translated; headings, labels, units and sentences always are.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace anatomy::report {

enum class Lang { en, ru, zh_TW, zh_CN };

// "en", "ru", "zh-TW", "zh-CN"; anything else is bad input (one line listing the four).
Lang parse_lang(const std::string& code);
std::string lang_code(Lang lang);
std::vector<Lang> all_langs();

class Catalog {
 public:
  explicit Catalog(Lang lang);

  Lang lang() const { return lang_; }
  // The message for `key`; a key missing from the catalog is an internal error (the tests render
  // every section in every language, and check that every catalog has the English keys).
  const std::string& text(std::string_view key) const;
  // The message with its {0}, {1}, … filled in (arguments already formatted as the language wants).
  template <class... Args>
  std::string text(std::string_view key, const Args&... args) const {
    return fmt::vformat(text(key), fmt::make_format_args(args...));
  }
  bool has(std::string_view key) const;
  const std::map<std::string, std::string, std::less<>>& messages() const { return messages_; }

  // Numbers as the language writes them: grouping and decimal mark ("1,234.5" / "1 234,5").
  std::string integer(int64_t v) const;
  std::string number(double v, int decimals) const;
  // A value with three significant figures at most two decimals ("0.423", "12.3", "1,234").
  std::string figure(double v) const;
  std::string percent(double v, int decimals = 1) const;
  std::string bytes(double bytes) const;  // "9.43 MiB" with the language's unit names
  std::string ms(double ms) const;        // "155.07 ms"
  std::string flops(double flops) const;  // "913.98 GFLOP" (unit chosen per value)
  std::string rate(double flops_per_s) const;  // "5.89 TFLOP/s"

 private:
  Lang lang_;
  std::map<std::string, std::string, std::less<>> messages_;
  std::string group_, decimal_;
};

}  // namespace anatomy::report
