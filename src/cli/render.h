// Terminal and Markdown rendering of tables, and the number formats every command shares.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"

namespace anatomy::cli {

enum class Format { table, md, json };
Format parse_format(const std::string& s);

std::string with_commas(uint64_t n);       // 3,212,749,824
std::string human_bytes(uint64_t bytes);   // "6.13 GiB (6,425,499,648 B)"
std::string short_bytes(uint64_t bytes);   // "3141.25 KiB"

class Table {
 public:
  enum class Align { left, right };
  explicit Table(std::vector<std::string> headers, std::vector<Align> align = {});
  void add(std::vector<std::string> row);
  std::string render(Format format) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

std::string heading(const std::string& title, Format format, int level = 2);

// The unit of a column of FLOP counts or rates, chosen per table so that its largest value reads
// ≥ 1 with three decimals (a tiny model shows MFLOP or kFLOP, not a column of 0.000).
struct Unit {
  double divisor = 1;
  std::string name;  // "GFLOP", "MFLOP", "kFLOP", "FLOP"
  std::string cell(double v) const;  // "12.345"
};
Unit flop_unit(double largest);
Unit flop_rate_unit(double largest);  // "GFLOP/s", …

// The words for a config fact (docs/inspect.md): objects such as attention, ffn, norm, rope become
// a sentence; plain values print as they are.
std::string describe_config(const std::string& key, const std::string& model_type, const io::ordered_json& value);
// "config defaults used (transformers LlamaConfig): rms_norm_eps 1e-06, …", or "" when none.
std::string defaults_line(const io::ordered_json& config);

}  // namespace anatomy::cli
