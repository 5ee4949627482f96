// Element types: the plain ones of safetensors/PyTorch and the block-quantized ones of GGUF.
// A block type stores `block_size` elements in `block_bytes` bytes; sizes are only defined for
// element counts that are a whole number of blocks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace anatomy {

enum class DType : uint8_t {
  F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL,
  // GGUF block-quantized types (ggml names).
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
  IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, IQ1_M, TQ1_0, TQ2_0, MXFP4,
};

struct DTypeInfo {
  DType dtype;
  const char* name;       // "F32", "BF16", "Q4_K" (safetensors spelling for plain types)
  const char* torch_name; // "float32", "bfloat16"; ggml name for block types
  uint32_t block_size;    // elements per block (1 for plain types)
  uint32_t block_bytes;   // bytes per block
  int ggml_id;            // GGUF type id, -1 if GGUF has none
};

const DTypeInfo& dtype_info(DType t);
inline const char* dtype_name(DType t) { return dtype_info(t).name; }
bool is_quantized(DType t);

std::optional<DType> dtype_from_safetensors(std::string_view name);
std::optional<DType> dtype_from_ggml(uint32_t id);
// Accepts "float32", "bfloat16", "fp16", "F32", ... (config.json torch_dtype, --dtype).
std::optional<DType> dtype_from_string(std::string_view name);

// Bytes of `numel` elements, or nullopt if numel is not a whole number of blocks or the size
// overflows uint64.
std::optional<uint64_t> dtype_bytes(DType t, uint64_t numel);

}  // namespace anatomy
