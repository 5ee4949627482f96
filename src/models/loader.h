// Opens what the user names — a catalog name, a config.json, a model folder, a .safetensors
// file (with its config.json beside it) or a .gguf file — and binds the checkpoint's tensors to
// the model tree by name and shape. Reads headers only: no tensor data is touched.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/gguf.h"
#include "io/tensor_entry.h"
#include "models/model.h"

namespace anatomy::models {

// Move-only in practice: `binding` points into `stored`.
struct LoadedModel {
  Model model;
  std::string source;       // as given by the user
  std::string format;       // "catalog", "config.json", "safetensors", "safetensors, 4 shards", "gguf v3"
  std::string config_file;  // where the config came from
  json config_json;         // the config as read (what a checkpoint written from this model carries)
  std::string gguf_architecture;        // general.architecture of a GGUF source
  std::vector<io::TensorEntry> stored;  // checkpoint tensors; empty without weights
  std::map<nn::Parameter*, const io::TensorEntry*> binding;  // parameter -> its stored tensor
  uint64_t file_bytes = 0;  // size of the checkpoint files
  uint64_t header_bytes_read = 0;
  bool has_weights() const { return !stored.empty(); }
};

LoadedModel load_model(const std::string& source);

// Maps the checkpoint files and points every bound parameter at its bytes (no copy). Layouts
// that differ from Hugging Face's (some GGUF tensors) and block-quantized types are refused.
void map_weights(LoadedModel& loaded);

// Matches stored tensors to the tree; throws one error listing every missing, unexpected and
// mis-shaped tensor. `gguf_arch` selects GGUF name mapping (empty for Hugging Face names).
void bind_checkpoint(LoadedModel& loaded, const std::string& gguf_arch);

}  // namespace anatomy::models
