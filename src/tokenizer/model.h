// Tokenizer models: turn one pre-token (bytes in the model's alphabet) into ids.
//   BpeModel  — merges by rank (Hugging Face BPE, GPT-2 vocab.json + merges.txt, GGUF "gpt2"),
//               over bytes (byte-level) or characters with byte fallback (SentencePiece-style).
//   SpmModel  — merges by score (GGUF "llama", llama.cpp's llm_tokenizer_spm).
//   CharModel — one id per character (nanoGPT's meta.pkl).
// Each also reports where each token ends within the piece, for offsets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace anatomy::tokenizer {

class Model {
 public:
  explicit Model(Vocab vocab) : vocab_(std::move(vocab)) {}
  virtual ~Model() = default;
  // Appends the ids of `piece`, and to `ends` (when given) each token's end offset in the piece.
  virtual void encode(std::string_view piece, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const = 0;
  virtual std::string kind() const = 0;      // "bpe", "spm", "char"
  virtual std::string alphabet() const = 0;  // "bytes", "characters, byte fallback", "characters"
  // Fills the model's part of the portable vocabulary (model, tokens, types, scores, merges).
  virtual void portable(PortableVocab& out) const = 0;
  const Vocab& vocab() const { return vocab_; }
  // Bytes the model could not represent and dropped (Hugging Face's BPE without an unk token).
  uint64_t dropped_bytes() const { return dropped_; }

 protected:
  Vocab vocab_;
  mutable uint64_t dropped_ = 0;
};

struct BpeOptions {
  bool byte_level = false;     // symbols start as single bytes (GPT-2's alphabet)
  bool byte_fallback = false;  // unknown characters become <0xXX> tokens
  int32_t unk_id = -1;         // for unknown characters when there is no byte fallback
  bool fuse_unk = false;       // consecutive unknowns become one <unk>
  bool ignore_merges = false;  // a piece that is a token is emitted whole (Llama 3)
};

// A merge rule: the pair (left, right) becomes `result`; lower rank merges first.
struct Merge {
  int32_t left, right, result;
};

class BpeModel : public Model {
 public:
  // `merges` in rank order.
  BpeModel(Vocab vocab, const std::vector<Merge>& merges, BpeOptions options);
  void encode(std::string_view piece, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const override;
  std::string kind() const override { return "bpe"; }
  std::string alphabet() const override;
  void portable(PortableVocab& out) const override;
  // The merges in rank order.
  std::vector<Merge> merges() const;

 private:
  struct Symbol {
    int32_t id, prev, next;
    uint32_t end;  // byte offset in the piece where this symbol ends
  };
  struct Candidate {
    int32_t rank, pos, left, right, result;
  };
  struct MergeTable;  // (left, right) -> (rank, result), open addressing
  struct Cache;       // piece -> ids and ends

  void initial_symbols(std::string_view piece) const;
  void merge_all() const;
  void push_candidate(int32_t pos) const;

  BpeOptions options_;
  std::shared_ptr<MergeTable> table_;
  std::shared_ptr<Cache> cache_;
  std::vector<int32_t> byte_ids_;  // byte-level: byte -> id; byte fallback: byte -> <0xXX> id
  mutable std::vector<Symbol> symbols_;
  mutable std::vector<Candidate> heap_;
};

class SpmModel : public Model {
 public:
  SpmModel(Vocab vocab, int32_t unk_id);
  void encode(std::string_view piece, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const override;
  std::string kind() const override { return "spm"; }
  std::string alphabet() const override { return "characters, byte fallback"; }
  void portable(PortableVocab& out) const override;

 private:
  int32_t unk_id_;
  std::vector<int32_t> byte_ids_;
  struct Symbol {
    int32_t prev, next;
    uint32_t begin, len;
  };
  struct Bigram {
    float score;
    int32_t left;
    uint32_t size;
  };
  mutable std::vector<Symbol> symbols_;
  mutable std::vector<Bigram> queue_;
};

class CharModel : public Model {
 public:
  explicit CharModel(Vocab vocab, std::string source) : Model(std::move(vocab)), source_(std::move(source)) {}
  void encode(std::string_view piece, std::vector<int32_t>& ids, std::vector<uint32_t>* ends) const override;
  std::string kind() const override { return "char"; }
  std::string alphabet() const override { return "characters"; }
  void portable(PortableVocab& out) const override;

 private:
  std::string source_;  // named in the error for a character outside the vocabulary
};

}  // namespace anatomy::tokenizer
