#include "core/dtype.h"

#include <array>
#include <cctype>
#include <string>

namespace anatomy {
namespace {

// Block sizes and bytes follow ggml's type traits (ggml.c, type_traits[]).
constexpr std::array<DTypeInfo, 34> kTypes{{
    {DType::F64, "F64", "float64", 1, 8, 28},
    {DType::F32, "F32", "float32", 1, 4, 0},
    {DType::F16, "F16", "float16", 1, 2, 1},
    {DType::BF16, "BF16", "bfloat16", 1, 2, 30},
    {DType::I64, "I64", "int64", 1, 8, 27},
    {DType::I32, "I32", "int32", 1, 4, 26},
    {DType::I16, "I16", "int16", 1, 2, 25},
    {DType::I8, "I8", "int8", 1, 1, 24},
    {DType::U8, "U8", "uint8", 1, 1, -1},
    {DType::BOOL, "BOOL", "bool", 1, 1, -1},
    {DType::Q4_0, "Q4_0", "q4_0", 32, 18, 2},
    {DType::Q4_1, "Q4_1", "q4_1", 32, 20, 3},
    {DType::Q5_0, "Q5_0", "q5_0", 32, 22, 6},
    {DType::Q5_1, "Q5_1", "q5_1", 32, 24, 7},
    {DType::Q8_0, "Q8_0", "q8_0", 32, 34, 8},
    {DType::Q8_1, "Q8_1", "q8_1", 32, 36, 9},
    {DType::Q2_K, "Q2_K", "q2_K", 256, 84, 10},
    {DType::Q3_K, "Q3_K", "q3_K", 256, 110, 11},
    {DType::Q4_K, "Q4_K", "q4_K", 256, 144, 12},
    {DType::Q5_K, "Q5_K", "q5_K", 256, 176, 13},
    {DType::Q6_K, "Q6_K", "q6_K", 256, 210, 14},
    {DType::Q8_K, "Q8_K", "q8_K", 256, 292, 15},
    {DType::IQ2_XXS, "IQ2_XXS", "iq2_xxs", 256, 66, 16},
    {DType::IQ2_XS, "IQ2_XS", "iq2_xs", 256, 74, 17},
    {DType::IQ3_XXS, "IQ3_XXS", "iq3_xxs", 256, 98, 18},
    {DType::IQ1_S, "IQ1_S", "iq1_s", 256, 50, 19},
    {DType::IQ4_NL, "IQ4_NL", "iq4_nl", 32, 18, 20},
    {DType::IQ3_S, "IQ3_S", "iq3_s", 256, 110, 21},
    {DType::IQ2_S, "IQ2_S", "iq2_s", 256, 82, 22},
    {DType::IQ4_XS, "IQ4_XS", "iq4_xs", 256, 136, 23},
    {DType::IQ1_M, "IQ1_M", "iq1_m", 256, 56, 29},
    {DType::TQ1_0, "TQ1_0", "tq1_0", 256, 54, 34},
    {DType::TQ2_0, "TQ2_0", "tq2_0", 256, 66, 35},
    {DType::MXFP4, "MXFP4", "mxfp4", 32, 17, 39},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const DTypeInfo& dtype_info(DType t) {
  for (const auto& info : kTypes)
    if (info.dtype == t) return info;
  return kTypes[0];  // unreachable: every enumerator is in the table
}

bool is_quantized(DType t) { return dtype_info(t).block_size > 1; }

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (const auto& info : kTypes)
    if (info.block_size == 1 && name == info.name) return info.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_ggml(uint32_t id) {
  for (const auto& info : kTypes)
    if (info.ggml_id >= 0 && static_cast<uint32_t>(info.ggml_id) == id) return info.dtype;
  return std::nullopt;
}

std::optional<DType> dtype_from_string(std::string_view name) {
  const std::string n = lower(name);
  if (n == "fp32" || n == "float") return DType::F32;
  if (n == "fp16" || n == "half") return DType::F16;
  if (n == "bf16") return DType::BF16;
  if (n == "fp64" || n == "double") return DType::F64;
  for (const auto& info : kTypes)
    if (n == lower(info.name) || n == info.torch_name) return info.dtype;
  return std::nullopt;
}

std::optional<uint64_t> dtype_bytes(DType t, uint64_t numel) {
  const auto& info = dtype_info(t);
  if (numel % info.block_size != 0) return std::nullopt;
  const uint64_t blocks = numel / info.block_size;
  if (blocks != 0 && info.block_bytes > UINT64_MAX / blocks) return std::nullopt;
  return blocks * info.block_bytes;
}

}  // namespace anatomy
