// PyTorch checkpoints (.pt, .pth, .bin) read without Python and without executing anything: the
// zip format torch.save writes since 1.6 (data.pkl + one entry per storage, read with libzip) and
// the legacy format (magic, protocol and system pickles, the object pickle, then raw storages).
// The object pickle goes through io/pickle's allow-list. Understood layouts: a bare state_dict
// (also HF pytorch_model.bin), and nanoGPT's ckpt.pt ({"model": state_dict, "model_args": …},
// with torch.compile's "_orig_mod." prefixes left for the family to strip).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/json.h"
#include "io/tensor_entry.h"

namespace anatomy::io {

struct TorchCheckpoint {
  std::string format;              // "torch zip" or "torch legacy"
  std::string layout;              // "state_dict" or "nanoGPT checkpoint (model, model_args)"
  std::vector<TensorEntry> tensors;
  json model_args;                 // nanoGPT's model_args; null otherwise
};

// Limits: the object pickle ≤ 256 MiB; every storage entry exactly numel × element size; every
// tensor inside its storage; entry names relative and without "..".
TorchCheckpoint read_torch_checkpoint(const std::string& path);

// The bytes of the zip entry holding a storage (its size was checked against the storage when the
// checkpoint was read). Copied: libzip gives no data offset to map.
std::shared_ptr<Storage> read_torch_storage(const std::string& path, const std::string& entry);

bool is_torch_checkpoint_name(const std::string& path);  // .pt, .pth, .bin, .ckpt

}  // namespace anatomy::io
