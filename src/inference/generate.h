// Text generation on the engine: prefill the prompt once, then one token per step on the KV cache
// and the Mamba conv/SSM states, sampled by Sampler; stops at EOS, a stop string or the token
// budget. A model with a fixed context slides its window as nanoGPT does (each step a fresh pass
// over the last `context` tokens); an encoder-decoder encodes its source once and decodes on its
// KV caches. Text streams out as valid UTF-8 only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "inference/sampler.h"
#include "models/model.h"
#include "tokenizer/tokenizer.h"

namespace anatomy::inference {

struct GenerateOptions {
  int64_t max_new_tokens = 128;
  std::vector<std::string> stop;  // stop strings (not printed)
  bool stop_at_eos = true;
  SamplingOptions sampling;
  std::shared_ptr<const backend::Backend> backend = backend::cpu();  // the model's weights already on it
};

// What a model keeps between single-token passes (bench and generate report it).
inline const char* cached_state(const nn::LanguageModel& lm) {
  return lm.source_vocab_size() > 0 ? "encoder output and decoder kv cache" : "kv cache and states";
}

struct GenerateResult {
  std::vector<int64_t> ids;      // generated ids (the stop token excluded)
  std::string text;              // their text, cut before a stop string
  std::string stop_reason;       // "eos", "stop string", "max_new_tokens"
  double prefill_seconds = 0;    // the prompt's forward pass
  double first_token_seconds = 0;  // from the start to the first sampled token
  double decode_seconds = 0;     // every step after the first token
  int64_t decode_steps = 0;      // forward passes after the first token
  std::string cache;             // "kv cache and states", "encoder output and decoder kv cache", "sliding window …"
  std::string launch;            // how one-token passes ran (StatePasses::how)
};

// `prompt` holds the decoder's ids (special tokens as the tokenizer adds them); `source` the
// encoder's ids for encoder-decoders. `on_text` receives each newly printable piece.
GenerateResult generate(const models::Model& model, const tokenizer::Tokenizer& tok, const std::vector<int64_t>& prompt,
                        const std::vector<int64_t>& source, const GenerateOptions& options,
                        const std::function<void(std::string_view)>& on_text);

}  // namespace anatomy::inference
