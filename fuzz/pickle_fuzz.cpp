// libFuzzer target: the allow-list unpickler on raw bytes.
#include <string_view>

#include "fuzz_input.h"
#include "io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return anatomy::fuzz::run_one([&] {
    anatomy::io::read_pickle(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  });
}
