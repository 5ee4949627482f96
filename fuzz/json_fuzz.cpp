// libFuzzer target: the strict JSON loader every other JSON file goes through (safetensors
// headers, shard indexes, tokenizer.json): duplicate keys, nesting depth, size bound.
#include <string_view>

#include "fuzz_input.h"
#include "io/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return anatomy::fuzz::run_one([&] {
    anatomy::io::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "tokenizer.json");
  });
}
