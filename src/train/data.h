// Training data: a text file tokenized once, split 90/10 into train and validation, and random
// batches drawn from a seeded generator whose state is saved with every checkpoint; for the
// encoder-decoder, a TSV of source/target pairs.
//
// The generator is SplitMix64 and a draw in [0, n) is next() mod n, so that a script can replay
// exactly the batches a run saw (tests/torch/train_check.py trains PyTorch on them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/gradients.h"

namespace anatomy::train {

enum class Split { train, validation };

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

// A token stream (decoder-only models): batches of `block` consecutive tokens predicting the next.
struct TokenStream {
  std::vector<int32_t> train, validation;
};
// Splits ids 90/10 (the first 90 % train, as nanoGPT's prepare.py); errors name `file` when a
// split is too short for one block.
TokenStream split_stream(std::vector<int32_t> ids, int64_t block, const std::string& file);
// B rows of `block` tokens at offsets rng.below(len − block) drawn row by row: ids = s[o : o+block], targets = s[o+1 : o+block+1].
// `offsets` (when given) receives the B offsets drawn.
Batch stream_batch(const TokenStream& data, Split split, int64_t batch, int64_t block, Rng& rng,
                   std::vector<int64_t>* offsets = nullptr);

// Source/target pairs (encoder-decoders), already tokenized: decoder input = target[:-1],
// decoder targets = target[1:]; rows padded with the pad ids (padded targets are not scored).
struct Pairs {
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> train, validation;
  int64_t source_pad = 0, target_pad = 0;
};
Pairs split_pairs(std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs, const std::string& file);
Batch pair_batch(const Pairs& data, Split split, int64_t batch, Rng& rng);

// The generator's state as text (std::mt19937_64's stream form), and back.
std::string rng_state(const Rng& rng);
void restore_rng(Rng& rng, const std::string& state, const std::string& file);

}  // namespace anatomy::train
