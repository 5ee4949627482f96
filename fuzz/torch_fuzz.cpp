// libFuzzer target: whole PyTorch checkpoints (zip through libzip, or legacy), state-dict layouts
// and storage bounds.
#include "core/error.h"
#include "fuzz_input.h"
#include "io/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const anatomy::fuzz::MemoryFile file(data, size);
  try {
    anatomy::io::read_torch_checkpoint(file.path());
  } catch (const anatomy::Error&) {
  }
  return 0;
}
