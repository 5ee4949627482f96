// libFuzzer target: the allow-list unpickler on raw bytes.
#include <string_view>

#include "core/error.h"
#include "io/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    anatomy::io::read_pickle(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const anatomy::Error&) {
  }
  return 0;
}
