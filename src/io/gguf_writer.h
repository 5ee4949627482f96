// GGUF v3 writer: typed metadata and tensors (plain dtypes), data aligned to general.alignment.
// Used by tests to build fixtures (and malformed variants) and by export paths later.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace anatomy::io {

class GgufWriter {
 public:
  void add_u32(const std::string& key, uint32_t v);
  void add_i32(const std::string& key, int32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_strings(const std::string& key, const std::vector<std::string>& v);
  void add_f32s(const std::string& key, const std::vector<float>& v);
  void add_i32s(const std::string& key, const std::vector<int32_t>& v);
  void add_u32s(const std::string& key, const std::vector<uint32_t>& v);
  // `shape` row-major as in PyTorch; written as GGUF's reversed ne[].
  void add_tensor(const std::string& name, const Tensor& t);
  void write(const std::string& path, uint32_t alignment = 32) const;

 private:
  void key(const std::string& k, uint32_t type);
  std::vector<char> kv_;
  uint64_t n_kv_ = 0;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace anatomy::io
