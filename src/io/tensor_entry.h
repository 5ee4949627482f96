// What a checkpoint header says about one stored tensor, before any data is read.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace anatomy::io {

struct TensorEntry {
  std::string name;      // as stored in the file
  DType dtype = DType::F32;
  Shape shape;           // in the file's own order (GGUF: already reversed to row-major)
  std::string file;      // path of the file holding the data
  uint64_t offset = 0;   // absolute byte offset of the data in `file`
  uint64_t nbytes = 0;
  // Torch zip checkpoints: the zip entry holding the storage; `offset` is then within that entry.
  std::string archive_entry;
};

}  // namespace anatomy::io
