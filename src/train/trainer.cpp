#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "backend/backend.h"
#include "backend/device.h"
#include "core/error.h"

namespace anatomy::train {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The batch of one micro-step, from the data the job holds; its offsets go to `record` when given.
Batch next_batch(const Job& job, Split split, Rng& rng, std::ostream* record = nullptr, int64_t step = 0) {
  const auto* s = std::get_if<TokenStream>(&job.data);
  if (!s) return pair_batch(std::get<Pairs>(job.data), split, job.recipe.batch, rng);
  std::vector<int64_t> offsets;
  Batch b = stream_batch(*s, split, job.recipe.batch, job.recipe.block, rng, record ? &offsets : nullptr);
  if (record)
    *record << io::ordered_json{{"split", split == Split::train ? "train" : "validation"}, {"step", step}, {"offsets", offsets}}.dump()
            << "\n";
  return b;
}

io::ordered_json data_facts(const Job& job) {
  if (const auto* s = std::get_if<TokenStream>(&job.data))
    return {{"file", job.data_file}, {"digest", job.data_digest}, {"kind", "text"}, {"train_tokens", s->train.size()}, {"validation_tokens", s->validation.size()}};
  const auto& p = std::get<Pairs>(job.data);
  return {{"file", job.data_file}, {"digest", job.data_digest}, {"kind", "pairs"}, {"train_pairs", p.train.size()}, {"validation_pairs", p.validation.size()}};
}

// The longest sequences a batch can hold (target, source), for the memory plan.
std::pair<int64_t, int64_t> longest(const Job& job) {
  if (std::holds_alternative<TokenStream>(job.data)) return {job.recipe.block, 0};
  size_t S = 0, T = 0;
  for (const auto& [src, tgt] : std::get<Pairs>(job.data).train) {
    S = std::max(S, src.size());
    T = std::max(T, tgt.size() - 1);
  }
  return {static_cast<int64_t>(T), static_cast<int64_t>(S)};
}

}  // namespace

io::ordered_json memory_plan(const Job& job) {
  uint64_t weights = 0;  // F32, as trained, once per unique parameter
  std::set<const nn::Parameter*> seen;
  for (const nn::ParamRef& ref : nn::parameter_slots(*job.model.model.root))
    if (seen.insert(ref.param.get()).second) weights += 4 * ref.param->value.numel();
  const int moments = job.recipe.optimizer.kind == "adamw" ? 2 : job.recipe.optimizer.momentum > 0 ? 1 : 0;
  const auto [T, S] = longest(job);
  const int64_t W = job.workers, shard_rows = (job.recipe.batch + W - 1) / W;
  const uint64_t activations = static_cast<uint64_t>(W) * step_activation_peak(*job.model.model.root, shard_rows, T, S);
  const uint64_t gradients = static_cast<uint64_t>(W) * weights;
  return {{"weights_bytes", weights}, {"gradients_bytes", gradients}, {"optimizer_bytes", moments * weights},
          {"activations_peak_bytes", activations}, {"total_bytes", (1 + moments) * weights + gradients + activations},
          {"activations_measured_by", W > 1 ? fmt::format("a meta run of one training step of a {}-row shard, times "
                                                          "{} workers", shard_rows, W)
                                            : std::string("a meta run of one training step")}};
}

bool fits_in_memory(const io::ordered_json& plan) { return plan["total_bytes"].get<uint64_t>() <= backend::available_memory(); }

void check_memory(const io::ordered_json& plan, bool force) {
  const uint64_t need = plan["total_bytes"], have = backend::available_memory();
  if (need > have && !force)
    fail(ErrorKind::resource, fmt::format("train: this run needs {:.0f} MiB (weights, gradients, optimizer state and the "
                                          "activations of one step), {:.0f} MiB is available (a smaller --batch or "
                                          "--block needs less activation memory; --force tries anyway)",
                                          static_cast<double>(need) / (1 << 20), static_cast<double>(have) / (1 << 20)));
}

namespace {

double validation_loss(const Job& job, DataParallel& parallel, const std::shared_ptr<const backend::Backend>& cpu,
                       std::ostream* record) {
  // The same validation batches at every evaluation, so the numbers compare across steps.
  Rng rng(job.recipe.seed ^ 0x5EEDull);
  double sum = 0;
  int64_t tokens = 0;
  for (int64_t i = 0; i < job.recipe.eval_iters; ++i) {
    const Loss l = parallel.evaluate(*job.model.model.root, next_batch(job, Split::validation, rng, record), cpu);
    sum += l.mean * static_cast<double>(l.tokens);
    tokens += l.tokens;
  }
  return tokens ? sum / static_cast<double>(tokens) : 0.0;
}

// A run killed after its last checkpoint logged steps that the resumed run repeats: drop them.
void keep_log_until(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const io::json j = io::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || !j["step"].is_number_integer()) break;  // a torn last line
    if (j["step"].get<int64_t>() > step) break;
    kept += line + "\n";
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  out << kept;
  if (!out) fail(ErrorKind::io, path + ": cannot write");
}

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20)); }

}  // namespace

io::ordered_json to_json(const Recipe& r) {
  io::ordered_json j = {{"steps", r.steps}, {"batch", r.batch}, {"block", r.block}, {"accum", r.accum},
                {"eval_every", r.eval_every}, {"eval_iters", r.eval_iters}, {"seed", r.seed}, {"clip", r.clip}};
  j.update(to_json(r.optimizer));
  j.update(to_json(r.schedule));
  return j;
}

Recipe recipe_from_json(const io::json& j, const std::string& file) {
  try {
    Recipe r;
    r.steps = j.at("steps");
    r.batch = j.at("batch");
    r.block = j.at("block");
    r.accum = j.at("accum");
    r.eval_every = j.at("eval_every");
    r.eval_iters = j.at("eval_iters");
    r.seed = j.at("seed");
    r.clip = j.at("clip");
    r.optimizer.kind = j.at("optimizer");
    r.optimizer.weight_decay = j.at("weight_decay");
    if (r.optimizer.kind == "sgd") {
      r.optimizer.momentum = j.at("momentum");
      r.optimizer.nesterov = j.at("nesterov");
    } else {
      r.optimizer.beta1 = j.at("betas").at(0);
      r.optimizer.beta2 = j.at("betas").at(1);
      r.optimizer.eps = j.at("eps");
    }
    r.schedule.kind = j.at("schedule");
    r.schedule.lr = j.at("lr");
    r.schedule.warmup = j.at("warmup");
    if (r.schedule.kind == "cosine") r.schedule.min_lr = j.at("min_lr");
    return r;
  } catch (const io::json::exception& e) {
    fail_at(ErrorKind::format, file, "recipe", std::string("is not a recipe anatomy wrote: ") + e.what());
  }
}

void check_recipe(const Recipe& r) {
  auto positive = [](int64_t v, const char* option) {
    if (v < 1) fail(ErrorKind::config, fmt::format("{} {} must be ≥ 1", option, v));
  };
  positive(r.steps, "--steps");
  positive(r.batch, "--batch");
  positive(r.accum, "--accum");
  positive(r.eval_every, "--eval-every");
  positive(r.eval_iters, "--eval-iters");
  if (!(r.schedule.lr > 0) || !std::isfinite(r.schedule.lr)) fail(ErrorKind::config, fmt::format("--lr {} must be > 0", r.schedule.lr));
  if (r.schedule.kind != "constant" && r.schedule.kind != "cosine")
    fail(ErrorKind::config, fmt::format("--schedule {}: unknown (constant or cosine)", r.schedule.kind));
  if (r.schedule.warmup < 0 || r.schedule.warmup > r.steps)
    fail(ErrorKind::config, fmt::format("--warmup {} must be in [0, --steps {}]", r.schedule.warmup, r.steps));
  if (!(r.schedule.min_lr >= 0 && r.schedule.min_lr <= r.schedule.lr))
    fail(ErrorKind::config, fmt::format("--min-lr {} must be in [0, --lr]", r.schedule.min_lr));
  if (!(r.clip >= 0)) fail(ErrorKind::config, fmt::format("--clip {} must be ≥ 0 (0: no clipping)", r.clip));
}

io::ordered_json train(Job& job, Progress& progress, const std::function<void(const std::string&)>& log) {
  Recipe& r = job.recipe;
  r.schedule.steps = r.steps;
  check_recipe(r);
  const nn::LanguageModel& root = *job.model.model.root;
  const auto cpu = backend::cpu();
  std::vector<Trainable> params = make_trainable(root);
  DataParallel parallel(params, job.workers);
  auto optimizer = make_optimizer(r.optimizer, params);
  Rng rng(r.seed);
  int64_t start = 0, skipped = 0, best_step = 0;
  double best = std::numeric_limits<double>::infinity();
  if (job.resume) {
    const io::json& s = job.resume->trainer_state;
    start = s.at("step");
    skipped = s.at("skipped_steps");
    best = s.at("best_val_loss").is_null() ? best : s.at("best_val_loss").get<double>();
    best_step = s.at("best_step");
    rng = Rng(s.at("rng").get<uint64_t>());
    optimizer->load_state(job.resume->optimizer, job.resume->dir + "/optimizer.safetensors");
    if (start >= r.steps)
      fail(ErrorKind::config, fmt::format("{} is at step {} already; --steps {} leaves nothing to do", job.resume->dir, start, r.steps));
  }
  if (job.memory.is_null()) job.memory = memory_plan(job);
  const io::ordered_json& memory = job.memory;
  log(fmt::format("memory: weights {}, gradients {}, optimizer {}, activations at peak {} ({}): {}",
                  mib(memory["weights_bytes"]), mib(memory["gradients_bytes"]), mib(memory["optimizer_bytes"]),
                  mib(memory["activations_peak_bytes"]), memory["activations_measured_by"].get<std::string>(),
                  mib(memory["total_bytes"])));
  log(job.workers > 1 ? fmt::format("threads: {} workers, each training on its share of the batch's {} rows", job.workers, r.batch)
                      : fmt::format("threads: {}, each op split across them", backend::threads()));

  fs::create_directories(job.out);
  const std::string log_path = job.out + "/log.jsonl";
  if (job.resume) keep_log_until(log_path, start);
  std::ofstream jsonl(log_path, job.resume ? std::ios::app : std::ios::trunc);
  if (!jsonl) fail(ErrorKind::io, log_path + ": cannot write");

  auto state_of = [&](int64_t step) {
    return io::ordered_json{{"schema", "anatomy.trainer_state/1"}, {"step", step}, {"rng", rng.state()},
                    {"best_val_loss", std::isfinite(best) ? io::ordered_json(best) : io::ordered_json()}, {"best_step", best_step},
                    {"skipped_steps", skipped}, {"recipe", to_json(r)}, {"data", data_facts(job)},
                    {"architecture", job.model.model.architecture}};
  };
  auto save = [&](const std::string& which, int64_t step) {
    const io::ordered_json state = state_of(step);
    const io::NamedTensors moments = optimizer->state();
    io::NamedTensors state_dict;
    if (job.save_pt && which == "best")
      for (const nn::ParamRef& ref : nn::parameter_slots(root)) state_dict.emplace_back(ref.path, ref.param->value);
    write_training_checkpoint(job.out + "/" + which, {job.config, params, moments, state, job.tokenizer,
                                                      state_dict.empty() ? nullptr : &state_dict});
  };

  std::ofstream batches;
  if (!job.batches_file.empty()) {
    batches.open(job.batches_file, job.resume ? std::ios::app : std::ios::trunc);
    if (!batches) fail(ErrorKind::io, job.batches_file + ": cannot write");
  }
  std::ostream* record = batches.is_open() ? &batches : nullptr;
  bool validation_recorded = false;  // the validation batches are the same at every evaluation
  const Clock::time_point begin = Clock::now();
  ProgressTask task(progress, "train", static_cast<uint64_t>(r.steps));
  int64_t tokens_total = 0;
  double forward_s = 0, backward_s = 0, optimizer_s = 0;
  std::map<std::string, double> backward_by_op;
  double last_train = NAN, last_val = NAN;
  for (int64_t step = start; step < r.steps; ++step) {
    const Clock::time_point t0 = Clock::now();
    zero_grads(params);
    double loss_sum = 0;
    int64_t tokens = 0;
    for (int64_t a = 0; a < r.accum; ++a) {
      const Batch b = next_batch(job, Split::train, rng, record, step);
      const Loss l = parallel.forward_backward(root, b, r.seed * 1000003 + static_cast<uint64_t>(step * r.accum + a), cpu);
      loss_sum += l.mean;
      tokens += l.tokens;
      forward_s += l.forward_seconds;
      backward_s += l.backward_seconds;
      for (const auto& [op, s] : l.backward_by_op) backward_by_op[op] += s;
    }
    parallel.reduce();
    if (r.accum > 1)  // each micro-batch added the gradient of its own mean: average them
      for_each_chunk(chunks_of(params), [&](size_t, const Chunk& c) {
        float* g = params[c.param].grad.data<float>();
        for (int64_t j = c.begin; j < c.end; ++j) g[j] /= static_cast<float>(r.accum);
      });
    const double loss = loss_sum / static_cast<double>(r.accum);
    const double norm = clip_gradients(params, r.clip);
    const double lr = learning_rate(r.schedule, step);
    const bool finite = std::isfinite(loss) && std::isfinite(norm);
    const Clock::time_point t_opt = Clock::now();
    if (finite) optimizer->step(params, lr);
    else ++skipped;  // the weights stay as they were: a non-finite update never reaches a checkpoint
    optimizer_s += seconds_since(t_opt);
    const double secs = seconds_since(t0);
    tokens_total += tokens;
    last_train = loss;
    io::ordered_json line = {{"step", step + 1}, {"train_loss", finite ? io::ordered_json(loss) : io::ordered_json("non-finite")},
                     {"lr", lr}, {"grad_norm", std::isfinite(norm) ? io::ordered_json(norm) : io::ordered_json("non-finite")},
                     {"tokens_per_s", static_cast<double>(tokens) / secs}};
    if (!finite) line["skipped"] = true;
    const bool evaluate = (step + 1) % r.eval_every == 0 || step + 1 == r.steps;
    bool improved = false;
    if (evaluate) {
      last_val = validation_loss(job, parallel, cpu, validation_recorded ? nullptr : record);
      validation_recorded = true;
      line["val_loss"] = last_val;
      improved = last_val < best;
      if (improved) {
        best = last_val;
        best_step = step + 1;
      }
    }
    // The line goes out before the checkpoint: a run killed in between resumes from the previous
    // checkpoint and writes the line again (keep_log_until drops the first).
    jsonl << line.dump() << "\n";
    jsonl.flush();
    if (evaluate) {
      save("last", step + 1);
      if (improved) save("best", step + 1);
      log(fmt::format("step {}/{}: train loss {:.4f}, val loss {:.4f}{}, lr {:.3g}, {:.0f} tokens/s{}", step + 1, r.steps,
                      loss, last_val, improved ? " (best)" : "", lr, static_cast<double>(tokens) / secs,
                      skipped ? fmt::format(", {} steps skipped (non-finite)", skipped) : ""));
    }
    progress.detail(fmt::format("step {} loss {:.4f} {:.0f} tok/s", step + 1, loss, static_cast<double>(tokens) / secs));
    task.update(static_cast<uint64_t>(step + 1));
  }
  const double seconds = seconds_since(begin);
  return {{"schema", "anatomy.train/1"},
          {"architecture", job.model.model.architecture},
          {"model_type", job.model.model.model_type},
          {"data", data_facts(job)},
          {"recipe", to_json(r)},
          {"parallelism", {{"threads", backend::threads()}, {"over", job.workers > 1 ? "batch" : "ops"}, {"workers", job.workers}}},
          {"memory", memory},
          {"resumed_at_step", start},
          {"steps_run", r.steps - start},
          {"seconds", seconds},
          {"tokens_per_s", static_cast<double>(tokens_total) / seconds},
          {"time", {{"forward_seconds", forward_s}, {"backward_seconds", backward_s}, {"optimizer_seconds", optimizer_s},
                    {"backward_seconds_by_op", backward_by_op},
                    {"note", "training steps only; evaluation and checkpoints are in seconds but not here"}}},
          {"final", {{"step", r.steps}, {"train_loss", last_train}, {"val_loss", last_val}}},
          {"best", {{"step", best_step}, {"val_loss", best}, {"path", job.out + "/best"}}},
          {"skipped_steps", skipped},
          {"out", job.out},
          {"log", log_path}};
}

}  // namespace anatomy::train
