#include "io/json.h"

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
  std::vector<std::set<std::string>> keys;  // one set per open object
  auto check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > options.max_depth)
      fail_at(ErrorKind::format, file, "", "JSON nested deeper than " +
                                               std::to_string(options.max_depth) + " levels");
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end: keys.pop_back(); break;
      case json::parse_event_t::key: {
        const auto& k = parsed.get_ref<const std::string&>();
        if (!keys.back().insert(k).second)
          fail_at(ErrorKind::format, file, k, "duplicate key");
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const json::exception& e) {
    fail_at(ErrorKind::format, file, "", std::string("invalid JSON: ") + e.what());
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
