// Finding and reading a tokenizer: tokenizer.json (Hugging Face), vocab.json + merges.txt
// (GPT-2), tokenizer.model (SentencePiece), the vocabulary inside a GGUF file, nanoGPT's meta.pkl
// or a text file's characters (as nanoGPT's prepare.py builds them). Every malformed file is an
// error naming the file and the field.
#pragma once

#include <memory>
#include <string>

#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

namespace anatomy::tokenizer {

std::unique_ptr<PipelineTokenizer> load_tokenizer_json(const std::string& path);
std::unique_ptr<PipelineTokenizer> parse_tokenizer_json(std::string_view text, const std::string& file);
// The pipeline a tokenizer.json-shaped document describes (GPT-2's files and GGUF vocabularies
// are read by building one); `file` is named in errors, `format` in describe().
std::unique_ptr<PipelineTokenizer> tokenizer_from_json(const io::json& root, const std::string& file, const std::string& format);
std::unique_ptr<Tokenizer> load_gpt2_files(const std::string& vocab_json, const std::string& merges_txt);
std::unique_ptr<Tokenizer> load_gguf_vocab(const io::GgufFile& gguf);

// A tokenizer file, or a model folder (tokenizer.json, then vocab.json + merges.txt, then
// tokenizer.model, then meta.pkl), or a GGUF file's own vocabulary. An error says what was looked
// for when nothing is found.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// nanoGPT's character vocabulary of a text (as its prepare.py builds it): the distinct characters
// sorted by code point. A tokenizer over such a list (ids in list order); `source` is named in
// errors. anatomy train saves the list as vocab.json (a JSON list), which load_tokenizer reads.
std::vector<std::string> text_characters(std::string_view text);
std::unique_ptr<Tokenizer> char_tokenizer(const std::vector<std::string>& chars, const std::string& format,
                                          const std::string& source);

// True when `folder` holds one of the tokenizer files above (for commands that fall back).
bool has_tokenizer(const std::string& path);

}  // namespace anatomy::tokenizer
