// Perplexity of a text under a model, by one of two stated protocols:
//   windows (default) — llama.cpp's llama-perplexity: the text tokenized once (BOS as the tokenizer
//     adds it), cut into non-overlapping windows of `ctx` tokens, the first token of each window
//     replaced by BOS when the tokenizer adds one, and the second half of each window scored
//     (positions ctx/2 .. ctx-1, each predicted from everything before it in the window);
//   strided (`stride` > 0) — the Hugging Face perplexity guide: windows of `ctx` tokens starting
//     every `stride` tokens, each scoring the tokens the previous window did not reach, so every
//     token from the second on is scored once with up to ctx-1 tokens of context (exact counts;
//     the guide's own code miscounts by one token per window).
// Also the mean negative log-likelihood and bits per byte of the scored tokens' text.
#pragma once

#include <cstdint>
#include <string>

#include "backend/backend.h"
#include "core/progress.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace anatomy::inference {

struct PerplexityOptions {
  int64_t ctx = 512;
  int64_t stride = 0;  // 0: llama-perplexity's windows
  int64_t max_windows = 0;  // 0: all
  std::shared_ptr<const backend::Backend> backend = backend::cpu();  // the model's weights already on it
};

struct PerplexityResult {
  std::string protocol;  // "llama-perplexity windows" or "strided (Hugging Face guide)"
  double nll = 0;        // mean, nats per token
  double ppl = 0;
  double bits_per_byte = 0;
  int64_t tokens = 0;           // in the tokenized text
  int64_t tokens_scored = 0;
  int64_t bytes_scored = 0;     // bytes of the scored tokens' text
  int64_t windows = 0;
  bool bos = false;             // BOS at the start of the text / of each window
  double seconds = 0;
};

PerplexityResult perplexity(const models::Model& model, const tokenizer::Tokenizer& tok, const std::string& text,
                            const PerplexityOptions& options, Progress& progress);

// An encoder-decoder's perplexity of targets given sources: `tsv` holds one "source<TAB>target"
// pair per line; each side is tokenized with special tokens as the tokenizer adds them, and every
// target token after the first is scored given the source and the target before it.
PerplexityResult pair_perplexity(const models::Model& model, const tokenizer::Tokenizer& tok, const std::string& tsv,
                                 const std::string& file, Progress& progress,
                                 const std::shared_ptr<const backend::Backend>& device = backend::cpu());

}  // namespace anatomy::inference
