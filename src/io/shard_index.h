// Hugging Face shard indexes (model.safetensors.index.json, pytorch_model.bin.index.json): the
// weight_map's shard paths must be relative, stay inside the index's folder (symlinks resolved),
// and every tensor must be in exactly the one shard the map names.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "io/tensor_entry.h"

namespace anatomy::io {

// Reads one shard file and returns its tensors (the caller keeps whatever else it needs).
using ShardReader = std::function<const std::vector<TensorEntry>&(const std::string& path)>;
void read_shard_index(const std::string& index_path, const ShardReader& read_shard);

}  // namespace anatomy::io
