// NumPy .npy writer (format 1.0, little-endian float32/int64), for logits dumps that Python
// references read with numpy.load.
#pragma once

#include <string>

#include "core/tensor.h"

namespace anatomy::io {

void write_npy(const std::string& path, const Tensor& t);  // F32 or I64, contiguous

}  // namespace anatomy::io
