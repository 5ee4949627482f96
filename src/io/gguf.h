// GGUF v2/v3 reader: metadata and tensor infos, validated against the file before anything is
// allocated (counts bounded by the file size, string/array lengths checked, alignment a power of
// two, offsets aligned, in bounds and disjoint, names unique). Reads no tensor data.
// Spec: ggml docs/gguf.md. Tensor shapes are returned row-major (GGUF's ne[] reversed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/json.h"
#include "io/tensor_entry.h"

namespace anatomy::io {

struct GgufFile {
  std::string path;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // start of the tensor data section
  ordered_json metadata = ordered_json::object();  // key -> value (arrays as JSON arrays)
  std::vector<TensorEntry> tensors;                // in file order
  std::string architecture() const;                // general.architecture
};

GgufFile read_gguf(const std::string& path);

// One GGUF tensor name mapped to its Hugging Face name, and how the stored layout differs.
struct GgufNameMapping {
  std::string hf_name;
  enum class Layout {
    same,         // identical shape and values
    transposed,   // GPT-2 Conv1D weights: GGUF stores [out, in], HF [in, out]
    reshaped,     // same values, different shape (conv1d [C,K] vs [C,1,K], norms split in groups)
    rope_permuted,  // llama q/k rows interleaved for GGUF's RoPE pairing (§3.3)
    neg_exp,      // mamba A: GGUF stores A = -exp(A_log), HF stores A_log
  } layout = Layout::same;
};

// nullopt for tensors that are not parameters (e.g. llama3's baked rope_freqs).
std::optional<GgufNameMapping> gguf_to_hf_name(const std::string& arch, const std::string& name);

// The inverse: the GGUF name of a Hugging Face tensor name (nullopt when GGUF has none).
std::optional<std::pair<std::string, GgufNameMapping::Layout>> hf_to_gguf_name(const std::string& arch,
                                                                                const std::string& hf_name);

// A Hugging Face tensor in GGUF's layout for `layout`: transposed, reshaped to llama.cpp's
// expected shape, A = -exp(A_log), or q/k rows permuted to the interleaved RoPE pairing
// (`rope_heads` = heads of that projection); in its own dtype, vectors in f32.
Tensor to_gguf_layout(const std::string& gguf_name, const Tensor& hf, GgufNameMapping::Layout layout,
                      int64_t rope_heads, int64_t norm_groups);

// The inverse, on load: a tensor stored in GGUF's layout (`stored`, as mapped) in Hugging Face's
// (`hf_shape`), computed in f32 and kept in the stored dtype (vectors in f32).
Tensor from_gguf_layout(const Tensor& stored, GgufNameMapping::Layout layout, int64_t rope_heads, const Shape& hf_shape);

// The GGUF architecture name of a registry model_type ("mistral" -> "llama"); error when GGUF
// export is not supported for it.
std::string gguf_arch_for(const std::string& model_type);

class GgufWriter;
// Writes general.architecture and the architecture's hyper-parameters from anatomy's config
// summary (Model::config): the inverse of gguf_to_hf_config.
void write_gguf_metadata(GgufWriter& w, const std::string& arch, const json& config, int64_t vocab);
// For a model without a tokenizer: a placeholder SentencePiece vocabulary of `vocab` ids (<unk>,
// <s>, </s>, the 256 byte tokens, fillers) so that llama.cpp loads the file.
void write_placeholder_vocab(GgufWriter& w, int64_t vocab);

// The Hugging Face config.json equivalent of a GGUF file's metadata, for llama, qwen2, qwen3,
// gpt2, mamba2 and nemotron_h. Unsupported architectures are an error naming the field.
json gguf_to_hf_config(const GgufFile& file);

}  // namespace anatomy::io
