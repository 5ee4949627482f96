// Training checkpoints: DIR/last and DIR/best, each a model folder every other command reads
// (config.json, model.safetensors, the tokenizer's own files) plus optimizer.safetensors,
// trainer_state.json and COMPLETE, written last. A folder is written beside its final name and
// renamed into place, so a kill at any moment leaves either the previous checkpoint or the new
// one, never a mix; a folder without COMPLETE is never resumed from.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "io/json.h"
#include "io/safetensors.h"
#include "train/gradients.h"

namespace anatomy::train {

// Files written verbatim beside the weights (the tokenizer: name -> bytes).
using Files = std::vector<std::pair<std::string, std::string>>;

struct CheckpointContent {
  const io::json& config;
  const std::vector<Trainable>& params;
  const io::NamedTensors& optimizer;
  const io::ordered_json& trainer_state;
  const Files& tokenizer;
  // Also best_model.pt, a torch.save state_dict of every slot (tied ones sharing storage).
  const io::NamedTensors* state_dict = nullptr;
};
void write_training_checkpoint(const std::string& dir, const CheckpointContent& c);

// A checkpoint folder's trainer_state.json and optimizer.safetensors (the weights are read as any
// model folder is). Errors name the folder when it is incomplete.
struct Resumed {
  std::string dir;  // the checkpoint folder read (last, or last.previous)
  io::json trainer_state;
  io::NamedTensors optimizer;
};
Resumed read_training_checkpoint(const std::string& dir);

// A safetensors file's tensors, mapped.
io::NamedTensors load_tensors(const std::string& path);

}  // namespace anatomy::train
