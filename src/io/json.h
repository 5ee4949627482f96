// Strict-but-practical JSON loading for model files: rejects duplicate keys and deep nesting,
// bounds the size, and (for config.json only) accepts the bare Infinity/-Infinity/NaN tokens that
// Python's json module writes. Errors name the file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace anatomy::io {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

struct JsonOptions {
  bool allow_python_constants = false;  // Infinity -> +DBL_MAX sentinel, NaN -> null
  int max_depth = 64;
  size_t max_bytes = 64u << 20;
};

json parse_json(std::string_view text, const std::string& file, const JsonOptions& options = {});
json load_json_file(const std::string& path, const JsonOptions& options = {});

// The value that stands for Infinity after parsing with allow_python_constants.
bool is_python_infinity(const json& value);

}  // namespace anatomy::io
