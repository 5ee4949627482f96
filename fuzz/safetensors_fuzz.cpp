// libFuzzer target: the safetensors reader (header length, JSON header, dtypes, offsets).
#include "fuzz_input.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const anatomy::fuzz::MemoryFile file(data, size);
  return anatomy::fuzz::run_one([&] {
    anatomy::io::read_safetensors(file.path());
  });
}
