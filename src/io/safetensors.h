// safetensors: header reading with every rule of the format enforced, sharded checkpoints
// (model.safetensors.index.json), and a writer that never leaves a partial file behind.
// Spec: huggingface/safetensors README ("Format"); limits follow its reference implementation.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "io/tensor_entry.h"

namespace anatomy::io {

constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

struct SafetensorsFile {
  std::string path;
  uint64_t file_size = 0;
  uint64_t header_bytes = 0;  // the 8-byte length plus the JSON header
  std::map<std::string, std::string> metadata;
  std::vector<TensorEntry> tensors;  // in data-offset order
};

// Reads and validates the header; reads no tensor data.
SafetensorsFile read_safetensors(const std::string& path);

// Reads a model.safetensors.index.json and every shard header it names. Shard paths must stay
// inside the index's folder and each tensor must be in exactly one shard.
std::vector<SafetensorsFile> read_safetensors_index(const std::string& index_path);

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes one file (via a temporary and rename). Tensors must have data.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes shards of at most max_shard_bytes of data (a larger single tensor gets its own shard)
// named model-0000i-of-0000n.safetensors, plus model.safetensors.index.json.
void write_safetensors_sharded(const std::string& dir, const NamedTensors& tensors,
                               uint64_t max_shard_bytes);

}  // namespace anatomy::io
