// The training loop: micro-batches accumulated into one optimizer step, clipping, the schedule,
// non-finite steps skipped and counted, evaluation on the validation split, checkpoints (best and
// last), and one JSON line per step in DIR/log.jsonl. Returns the anatomy.train/1 document.
#pragma once

#include <functional>
#include <string>
#include <variant>

#include "core/progress.h"
#include "io/json.h"
#include "models/loader.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/optimizer.h"
#include "train/parallel.h"

namespace anatomy::train {

struct Recipe {
  int64_t steps = 1000;     // optimizer steps
  int64_t batch = 32;       // sequences per micro-batch
  int64_t block = 0;        // tokens per sequence (decoder-only)
  int64_t accum = 1;        // micro-batches per optimizer step
  int64_t eval_every = 100;
  int64_t eval_iters = 20;  // validation batches per evaluation
  uint64_t seed = 1337;
  double clip = 0;          // global gradient norm limit (0: none)
  OptimizerConfig optimizer;
  Schedule schedule;
};
io::ordered_json to_json(const Recipe& r);
// The recipe a checkpoint recorded (errors name `file` and the field).
Recipe recipe_from_json(const io::json& j, const std::string& file);
// Checks every field; errors name the command-line option.
void check_recipe(const Recipe& r);

struct Job {
  models::LoadedModel& model;  // weights bound (initial, loaded, or a checkpoint's)
  io::json config;             // the config.json every checkpoint carries
  Files tokenizer;             // the tokenizer files every checkpoint carries
  Recipe recipe;
  std::variant<TokenStream, Pairs> data;
  std::string data_file;
  std::string data_digest;  // recorded, so that a resumed run can refuse other data
  std::string out;
  std::optional<Resumed> resume;  // continue from this checkpoint's state
  bool save_pt = false;           // DIR/best also gets best_model.pt (torch.save's format)
  // When set (token streams only): one JSON line per micro-batch with its split, step and the
  // offsets drawn, so another trainer can replay the same batches (bench/peers/torch_recipe.py).
  std::string batches_file;
  io::ordered_json memory;  // memory_plan(job), when the caller has made it already
  // Data-parallel workers (train/parallel.h): 1 runs each op across the threads instead.
  int workers = 1;
};

// Bytes of the weights (F32, as trained), their gradients (one copy per data-parallel worker), the
// optimizer's moments and the activation peak of one step (a meta run of forward + backward of
// each worker's shard, all live at once): needs no weights bound.
io::ordered_json memory_plan(const Job& job);
bool fits_in_memory(const io::ordered_json& plan);
// A resource error naming the bytes needed and available, unless `force`.
void check_memory(const io::ordered_json& plan, bool force);

// `log` receives one human-readable line per evaluation (stderr in the CLI).
io::ordered_json train(Job& job, Progress& progress, const std::function<void(const std::string&)>& log);

}  // namespace anatomy::train
