// libFuzzer target: the safetensors reader (header length, JSON header, dtypes, offsets).
#include "core/error.h"
#include "fuzz_input.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const anatomy::fuzz::MemoryFile file(data, size);
  try {
    anatomy::io::read_safetensors(file.path());
  } catch (const anatomy::Error&) {
    // A clear refusal is the expected outcome; anything else (crash, other exception) is a bug.
  }
  return 0;
}
