// Writes a state_dict as torch.save does (the zip format of PyTorch ≥ 1.6): <name>/data.pkl, a
// pickle (protocol 2) of an OrderedDict of tensors rebuilt by torch._utils._rebuild_tensor_v2
// from persistent storages, each storage in <name>/data/<key>, plus <name>/version and
// <name>/byteorder. Only the globals torch.load(weights_only=True) allows are used. Tensors that
// share a storage (a tied head and its embedding) are saved once and stay shared when loaded.
#pragma once

#include <string>

#include "io/safetensors.h"

namespace anatomy::io {

// F32 tensors with data; written through a temporary file and renamed.
void write_torch_state_dict(const std::string& path, const NamedTensors& tensors);

}  // namespace anatomy::io
