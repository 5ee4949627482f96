// libFuzzer target: the GGUF reader (header, metadata, tensor infos) and the metadata → config map.
#include "fuzz_input.h"
#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const anatomy::fuzz::MemoryFile file(data, size);
  return anatomy::fuzz::run_one([&] {
    const anatomy::io::GgufFile g = anatomy::io::read_gguf(file.path());
    anatomy::io::gguf_to_hf_config(g);
  });
}
