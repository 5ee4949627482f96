// Message catalogs and number formats per language (CLDR's conventions: ru groups with a no-break
// space and marks decimals with a comma; en and both Chinese scripts use "," and ".").
#include "report/catalog.h"

#include <cmath>

#include "core/error.h"
#include "io/json.h"
#include "report/assets.h"

namespace anatomy::report {

Lang parse_lang(const std::string& code) {
  for (const Lang l : all_langs())
    if (lang_code(l) == code) return l;
  fail(ErrorKind::config, "--lang: unknown language '" + code + "' (en, ru, zh-TW, zh-CN)");
}

std::string lang_code(Lang lang) {
  switch (lang) {
    case Lang::en: return "en";
    case Lang::ru: return "ru";
    case Lang::zh_TW: return "zh-TW";
    case Lang::zh_CN: return "zh-CN";
  }
  return "en";
}

std::vector<Lang> all_langs() { return {Lang::en, Lang::ru, Lang::zh_TW, Lang::zh_CN}; }

namespace {

std::string_view catalog_text(Lang lang) {
  switch (lang) {
    case Lang::en: return assets::messages_en();
    case Lang::ru: return assets::messages_ru();
    case Lang::zh_TW: return assets::messages_zh_tw();
    case Lang::zh_CN: return assets::messages_zh_cn();
  }
  return assets::messages_en();
}

// Inserts `group` between every three digits of an unsigned decimal string.
std::string grouped(const std::string& digits, const std::string& group) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += group;
    out += digits[i];
  }
  return out;
}

}  // namespace

Catalog::Catalog(Lang lang)
    : lang_(lang), group_(lang == Lang::ru ? "\u00a0" : ","), decimal_(lang == Lang::ru ? "," : ".") {
  const io::json j = io::parse_json(catalog_text(lang), "messages/" + lang_code(lang) + ".json");
  for (const auto& [k, v] : j.items()) messages_.emplace(k, v.get<std::string>());
}

const std::string& Catalog::text(std::string_view key) const {
  const auto it = messages_.find(key);
  if (it == messages_.end()) fail(ErrorKind::internal, fmt::format("report catalog {}: no message '{}'", lang_code(lang_), key));
  return it->second;
}

bool Catalog::has(std::string_view key) const { return messages_.find(key) != messages_.end(); }

std::string Catalog::integer(int64_t v) const {
  const std::string digits = std::to_string(v < 0 ? -static_cast<uint64_t>(v) : static_cast<uint64_t>(v));
  std::string out = v < 0 ? "-" : "";
  out += grouped(digits, group_);
  return out;
}

std::string Catalog::number(double v, int decimals) const {
  if (!std::isfinite(v)) fail(ErrorKind::format, "report document: a figure is not a finite number");
  const std::string s = fmt::format("{:.{}f}", std::fabs(v), decimals);
  const size_t dot = s.find('.');
  std::string out = grouped(s.substr(0, dot), group_);
  if (dot != std::string::npos) {
    out += decimal_;
    out.append(s, dot + 1);
  }
  if (v >= 0 || out.find_first_not_of("0,.\u00a0") == std::string::npos) return out;
  std::string negative(1, '-');
  return negative + out;
}

std::string Catalog::figure(double v) const {
  const double a = std::fabs(v);
  return number(v, a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3);
}

std::string Catalog::percent(double v, int decimals) const { return number(v, decimals) + text("unit.percent"); }

std::string Catalog::bytes(double b) const {
  static const char* kUnits[] = {"unit.B", "unit.KiB", "unit.MiB", "unit.GiB", "unit.TiB"};
  int u = 0;
  while (std::fabs(b) >= 1024 && u < 4) b /= 1024, ++u;
  return (u == 0 ? integer(static_cast<int64_t>(b)) : number(b, 2)) + " " + text(kUnits[u]);
}

std::string Catalog::ms(double v) const { return number(v, v >= 100 ? 1 : v >= 1 ? 2 : 3) + " " + text("unit.ms"); }

namespace {

// The SI prefix that makes |v| read at least 1 (FLOP, kFLOP, …, PFLOP).
int si_step(double v) {
  int step = 0;
  while (std::fabs(v) >= 1000 && step < 5) v /= 1000, ++step;
  return step;
}

}  // namespace

std::string Catalog::flops(double v) const {
  static const char* kUnits[] = {"unit.FLOP", "unit.kFLOP", "unit.MFLOP", "unit.GFLOP", "unit.TFLOP", "unit.PFLOP"};
  const int s = si_step(v);
  return (v == 0 ? std::string("0") : number(v / std::pow(1000.0, s), 2)) + " " + text(kUnits[s]);
}

std::string Catalog::rate(double v) const {
  static const char* kUnits[] = {"unit.FLOP_s", "unit.kFLOP_s", "unit.MFLOP_s", "unit.GFLOP_s", "unit.TFLOP_s", "unit.PFLOP_s"};
  const int s = si_step(v);
  return number(v / std::pow(1000.0, s), 2) + " " + text(kUnits[s]);
}

}  // namespace anatomy::report
