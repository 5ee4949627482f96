// libFuzzer target: config.json (Python's Infinity/NaN allowed) → model tree → parameter counts.
// Sizes come from the input, so absurd ones must be refused before anything is allocated.
#include <string_view>

#include "analysis/params.h"
#include "fuzz_input.h"
#include "io/json.h"
#include "models/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  anatomy::io::JsonOptions options;
  options.allow_python_constants = true;
  return anatomy::fuzz::run_one([&] {
    const auto config = anatomy::io::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "config.json", options);
    const auto model = anatomy::models::build_model(config, "config.json");
    anatomy::analysis::count_params(model);
  });
}
