#include "cli/render.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace anatomy::cli {
namespace {

// Display width in terminal columns: counts UTF-8 code points (×, …, ² are one column each).
size_t width(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string pad(const std::string& s, size_t w, Table::Align a) {
  const size_t n = width(s);
  if (n >= w) return s;
  return a == Table::Align::left ? s + std::string(w - n, ' ') : std::string(w - n, ' ') + s;
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Format parse_format(const std::string& s) {
  if (s == "table") return Format::table;
  if (s == "md" || s == "markdown") return Format::md;
  if (s == "json") return Format::json;
  fail(ErrorKind::config, "--format: '" + s + "' is not one of table, md, json");
}

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string short_bytes(uint64_t b) {
  const double d = static_cast<double>(b);
  if (b < 1024) return fmt::format("{} B", b);
  if (b < (1ull << 20)) return fmt::format("{:.2f} KiB", d / 1024);
  if (b < (1ull << 30)) return fmt::format("{:.2f} MiB", d / (1 << 20));
  return fmt::format("{:.2f} GiB", d / (1ull << 30));
}

std::string human_bytes(uint64_t b) { return fmt::format("{} ({} B)", short_bytes(b), with_commas(b)); }

Table::Table(std::vector<std::string> headers, std::vector<Align> align)
    : headers_(std::move(headers)), align_(std::move(align)) {
  align_.resize(headers_.size(), Align::left);
}

void Table::add(std::vector<std::string> row) {
  row.resize(headers_.size());
  rows_.push_back(std::move(row));
}

std::string Table::render(Format format) const {
  std::string out;
  if (format == Format::md) {
    out += "|";
    for (const auto& h : headers_) out += fmt::format(" {} |", md_escape(h));
    out += "\n|";
    for (auto a : align_) out += a == Align::right ? "---:|" : "---|";
    out += "\n";
    for (const auto& r : rows_) {
      out += "|";
      for (const auto& c : r) out += fmt::format(" {} |", md_escape(c));
      out += "\n";
    }
    return out;
  }
  std::vector<size_t> w(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) {
    w[i] = width(headers_[i]);
    for (const auto& r : rows_) w[i] = std::max(w[i], width(r[i]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) l += "  ";
      l += pad(cells[i], w[i], align_[i]);
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l + "\n";
  };
  out += line(headers_);
  std::string rule;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i) rule += "  ";
    rule.append(w[i], '-');
  }
  out += rule + "\n";
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string heading(const std::string& title, Format format, int level) {
  if (format == Format::md) return fmt::format("\n{} {}\n\n", std::string(static_cast<size_t>(level), '#'), title);
  return fmt::format("\n{}\n{}\n", title, std::string(width(title), level <= 1 ? '=' : '-'));
}

std::string Unit::cell(double v) const { return fmt::format("{:.3f}", v / divisor); }

Unit flop_unit(double largest) {
  if (largest >= 1e9) return {1e9, "GFLOP"};
  if (largest >= 1e6) return {1e6, "MFLOP"};
  if (largest >= 1e3) return {1e3, "kFLOP"};
  return {1, "FLOP"};
}

Unit flop_rate_unit(double largest) {
  Unit u = flop_unit(largest);
  u.name += "/s";
  return u;
}

}  // namespace anatomy::cli
