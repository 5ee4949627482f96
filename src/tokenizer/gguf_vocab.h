// The vocabulary inside a GGUF file (tokenizer.ggml.*), as llama.cpp reads and writes it:
// "gpt2" (byte-level BPE: tokens, merges, the pre-tokenizer's name) and "llama" (SentencePiece:
// tokens, scores, token types with byte fallback).
#pragma once

#include <cstdint>

#include "io/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace anatomy::tokenizer {

// Writes `t` into `w` for a model whose embedding has `rows` ids (padded with unused "[PADi]"
// tokens as llama.cpp's converter does). Errors when the tokenizer cannot be written as a GGUF
// vocabulary llama.cpp reads (a pre-tokenizer llama.cpp does not know, a character vocabulary).
void write_gguf_vocab(io::GgufWriter& w, const Tokenizer& t, int64_t rows);

}  // namespace anatomy::tokenizer
