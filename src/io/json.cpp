#include "io/json.h"

#include <algorithm>
#include <cfloat>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "core/error.h"

namespace anatomy::io {
namespace {

// Replaces the bare tokens Python writes (outside strings) by valid JSON.
std::string replace_python_constants(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if (text.substr(i, 8) == "Infinity") {
      out += "1.7976931348623157e308";
      i += 7;
    } else if (text.substr(i, 3) == "NaN") {
      out += "null";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Rejects duplicate keys within an object and nesting deeper than max_depth.
class DuplicateAndDepthCheck : public nlohmann::json_sax<json> {
 public:
  DuplicateAndDepthCheck(const std::string& file, int max_depth) : file_(file), max_depth_(max_depth) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return enter();
  }
  bool key(string_t& k) override {
    if (!keys_.back().insert(k).second) fail_at(ErrorKind::format, file_, k, "duplicate key");
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override {
    --depth_;
    return true;
  }
  // Syntax errors are reported by parse_json, which has the text to locate them in.
  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception&) override {
    error_byte = byte;
    return false;
  }
  size_t error_byte = 0;

 private:
  bool enter() {
    if (++depth_ > max_depth_)
      fail_at(ErrorKind::format, file_, "", "JSON nested deeper than " + std::to_string(max_depth_) + " levels");
    return true;
  }
  const std::string& file_;
  int max_depth_;
  int depth_ = 0;
  std::vector<std::set<std::string>> keys_;
};

// "invalid JSON at line 3, column 5: unexpected '}'" — the position nlohmann reports (bytes from
// 1, at the character it could not use) as line and column, and what stands there.
[[noreturn]] void syntax_error(std::string_view text, size_t byte, const std::string& file) {
  const size_t at = byte > 0 ? std::min(byte - 1, text.size()) : 0;
  size_t line = 1, column = 1;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  std::string near(text.substr(at, 12));
  near = near.substr(0, near.find('\n'));
  const std::string what = at >= text.size() ? "the text ends before the JSON value is complete"
                                             : "unexpected '" + near + "'";
  fail_at(ErrorKind::format, file, "", "invalid JSON at line " + std::to_string(line) + ", column " +
                                           std::to_string(column) + ": " + what);
}

}  // namespace

json parse_json(std::string_view text, const std::string& file, const JsonOptions& options) {
  if (text.size() > options.max_bytes)
    fail_at(ErrorKind::format, file, "", "JSON of " + std::to_string(text.size()) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(options.max_bytes));
  std::string fixed;
  if (options.allow_python_constants) {
    fixed = replace_python_constants(text);
    text = fixed;
  }
  // nlohmann's callback parser is quadratic in the number of keys, so the checks run as a
  // separate SAX pass (linear) before the ordinary DOM parse.
  DuplicateAndDepthCheck check(file, options.max_depth);
  if (!json::sax_parse(text.begin(), text.end(), &check)) syntax_error(text, check.error_byte, file);
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception&) {
    syntax_error(text, 0, file);  // unreachable after the SAX pass accepted the text
  }
}

json load_json_file(const std::string& path, const JsonOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::io, path + ": cannot open");
  in.seekg(0, std::ios::end);
  const auto size = static_cast<size_t>(in.tellg());
  if (size > options.max_bytes)
    fail_at(ErrorKind::format, path, "", "file of " + std::to_string(size) +
                                             " bytes exceeds the JSON limit of " +
                                             std::to_string(options.max_bytes));
  in.seekg(0);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  return parse_json(text, path, options);
}

bool is_python_infinity(const json& value) {
  return value.is_number_float() && value.get<double>() >= DBL_MAX;
}

}  // namespace anatomy::io
