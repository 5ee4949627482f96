// A tokenizer: text -> ids and back, as the model's own files define it. Two kinds:
//   PipelineTokenizer — Hugging Face's pipeline (added tokens, normalizer, pre-tokenizer, model,
//     post-processor, decoder), which also serves GPT-2's vocab.json + merges.txt, GGUF
//     vocabularies (as llama.cpp reads them) and nanoGPT's characters;
//   SentencePieceTokenizer — a tokenizer.model through Debian's libsentencepiece.
// Input must be valid UTF-8 (repair_utf8 first). Not thread-safe: the BPE cache is shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/json.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/decoder.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"

namespace anatomy::tokenizer {

struct EncodeOptions {
  bool add_special = true;  // BOS/EOS from the post-processor, as transformers' add_special_tokens=True
  bool offsets = false;     // compute each token's byte range in the input
};

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // byte ranges in the input (when asked)
  uint64_t dropped_bytes = 0;  // bytes the model could not represent (no unk token, no byte fallback)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // The input as this tokenizer takes it: invalid UTF-8 replaced by U+FFFD (one per maximal
  // subpart, as Rust and JavaScript do) for Hugging Face pipelines; unchanged for SentencePiece,
  // which handles bytes itself. `replaced` counts the replacements.
  virtual std::string prepare(std::string_view raw, size_t* replaced) const;
  // `text` as prepare() returned it.
  virtual Encoding encode(std::string_view text, const EncodeOptions& options = {}) const = 0;
  // Out-of-range ids are an error naming the id.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const = 0;
  virtual std::string token(int32_t id) const = 0;  // as the file spells it
  virtual int32_t size() const = 0;                 // ids in use, added tokens included
  virtual int32_t bos_id() const = 0;               // -1 when the tokenizer has none
  virtual int32_t eos_id() const = 0;
  // Facts for documents: format, model kind, sizes, special tokens, pre-tokenizer.
  virtual io::json describe() const = 0;
  // The vocabulary as GGUF stores it; an error naming the reason when it has no such form.
  virtual PortableVocab portable() const = 0;
  const std::string& source() const { return source_; }
  void set_source(std::string s) { source_ = std::move(s); }

 protected:
  std::string source_;
};

// What the loaders assemble.
struct Pipeline {
  std::string format;  // "tokenizer.json", "vocab.json+merges.txt", "gguf", "meta.pkl", "text"
  std::unique_ptr<Model> model;
  std::optional<Normalizer> normalizer;
  std::optional<PreTokenizer> pre_tokenizer;
  std::string pre_tokenizer_name;  // "gpt-2", "llama-bpe", "qwen2", or "" when the pattern is another
  std::vector<AddedToken> added;
  std::vector<int32_t> prefix, suffix;  // the post-processor's ids around a single sequence
  std::optional<Decoder> decoder;
  int32_t bos_id = -1, eos_id = -1;
};

class PipelineTokenizer : public Tokenizer {
 public:
  explicit PipelineTokenizer(Pipeline pipeline);
  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;
  std::string token(int32_t id) const override;
  int32_t size() const override { return size_; }
  int32_t bos_id() const override { return p_.bos_id; }
  int32_t eos_id() const override { return p_.eos_id; }
  io::json describe() const override;
  PortableVocab portable() const override;
  Pipeline& pipeline() { return p_; }
  const Pipeline& pipeline() const { return p_; }

 private:
  void encode_segment(std::string_view text, size_t at, const EncodeOptions& options, Encoding& out) const;
  void encode_normalized(WorkText& work, Range segment, bool first, const EncodeOptions& options, Encoding& out) const;
  const AddedToken* added_for(int32_t id) const;
  Pipeline p_;
  AddedTokenMatcher raw_matcher_, normalized_matcher_;
  std::vector<int32_t> added_index_;  // id -> index into p_.added, or -1
  int32_t size_ = 0;
};

// Loads a tokenizer.model (SentencePiece protobuf). `add_bos`/`add_eos` as tokenizer_config.json says.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::string& path, bool add_bos, bool add_eos);

}  // namespace anatomy::tokenizer
