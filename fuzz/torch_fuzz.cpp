// libFuzzer target: whole PyTorch checkpoints (zip through libzip, or legacy), state-dict layouts
// and storage bounds.
#include "fuzz_input.h"
#include "io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const anatomy::fuzz::MemoryFile file(data, size);
  return anatomy::fuzz::run_one([&] {
    anatomy::io::read_torch_checkpoint(file.path());
  });
}
