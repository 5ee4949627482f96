// `anatomy train (--config CFG | MODEL) --data FILE --out DIR`: trains on the CPU through the
// training tape over the same forward every other command runs (src/train/). The model comes from
// a config (initial weights drawn as the reference trainers draw them), from a checkpoint
// (fine-tuning), or from OUT/last (--resume). The tokenizer is the model's own, --tokenizer, or
// for nanoGPT without one the data file's characters (saved as vocab.json). Progress and one
// line per evaluation go to stderr; the anatomy.train/1 document is built first and rendered.
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "backend/device.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "cli/text_input.h"
#include "cli/weights.h"
#include "core/error.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "tokenizer/load.h"
#include "train/init.h"
#include "train/trainer.h"

namespace anatomy::cli {
namespace fs = std::filesystem;
namespace {

using Json = io::ordered_json;

std::string slurp(const fs::path& p) { return read_text(p.string(), "the tokenizer"); }

// The tokenizer's own files from the folder (or file) it was read from, to travel with every
// checkpoint; a character vocabulary taken from a .txt file travels as vocab.json.
train::Files tokenizer_files(const std::string& source) {
  const fs::path p(source);
  const fs::path dir = fs::is_directory(p) ? p : p.parent_path();
  train::Files files;
  if (p.extension() == ".txt")
    return {{"vocab.json", io::json(tokenizer::text_characters(read_text(source, "--tokenizer"))).dump() + "\n"}};
  if (!fs::is_directory(p)) {
    files.emplace_back(p.filename().string(), slurp(p));
    if (p.filename() == "vocab.json" && fs::exists(dir / "merges.txt")) files.emplace_back("merges.txt", slurp(dir / "merges.txt"));
    return files;
  }
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                        "tokenizer.model", "meta.pkl"})
    if (fs::exists(dir / f)) files.emplace_back(f, slurp(dir / f));
  return files;
}

// Where the model, its config and its tokenizer come from.
struct Source {
  models::LoadedModel model;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  train::Files tokenizer;
  io::json config;
  bool from_scratch = false;
};

// nanoGPT from scratch without a tokenizer: the data's characters, the config's vocab_size set
// to their count (as nanoGPT's prepare.py + train.py do).
void use_characters(Source& s, const std::string& text, const std::string& data_file) {
  const std::vector<std::string> chars = tokenizer::text_characters(text);
  if (chars.empty()) fail(ErrorKind::config, data_file + ": --data: the file is empty (nothing to build a vocabulary from or train on)");
  s.tok = tokenizer::char_tokenizer(chars, "characters of the data", data_file);
  s.tokenizer = {{"vocab.json", io::json(chars).dump() + "\n"}};
  s.config["vocab_size"] = chars.size();
  s.model.model = models::build_model(s.config, s.model.config_file);
}

Source open_source(const TrainOptions& o, const std::string& last, const std::string& text) {
  Source s;
  if (!o.resume.empty()) {
    s.model = models::load_model(last);
    s.tok = tokenizer::load_tokenizer(last);
    s.tokenizer = tokenizer_files(last);
    s.config = s.model.config_json;
    return s;
  }
  const std::string& source = o.config.empty() ? o.model : o.config;
  if (source.empty()) fail(ErrorKind::config, "train: name the model (a checkpoint to fine-tune) or --config CFG (from scratch)");
  if (!o.config.empty() && !o.model.empty()) fail(ErrorKind::config, "train: give a MODEL or --config, not both");
  s.model = models::load_model(source);
  s.config = s.model.config_json;
  s.from_scratch = !o.config.empty() || !s.model.has_weights();
  if (!o.config.empty() && s.model.has_weights())
    fail(ErrorKind::config, fmt::format("--config {}: holds weights; name it as MODEL to fine-tune them, or give its config.json", o.config));
  const std::string folder = fs::is_directory(source) ? source : fs::path(source).parent_path().string();
  if (!o.tokenizer.empty() || tokenizer::has_tokenizer(folder)) {
    s.tok = model_tokenizer(source, o.tokenizer);
    s.tokenizer = tokenizer_files(o.tokenizer.empty() ? folder : o.tokenizer);
  } else if (s.model.model.model_type == "nanogpt" && s.from_scratch) {
    use_characters(s, text, o.data);
  } else {
    fail(ErrorKind::config, fmt::format("{}: no tokenizer beside it; name one with --tokenizer", source));
  }
  return s;
}

// The weights, once the memory plan has been accepted: drawn (from scratch) or mapped.
void bind_weights(Source& s, const TrainOptions& o) {
  if (!s.from_scratch) return models::map_weights(s.model);
  const int64_t layers = s.config.value("num_hidden_layers", s.config.value("n_layer", s.config.value("n_layers", int64_t{1})));
  models::bind_weights(s.model.model, train::initial_weights(s.model.model, layers, o.seed));
}

std::vector<int32_t> encode(const tokenizer::Tokenizer& tok, const std::string& text, int64_t vocab, const std::string& file) {
  std::vector<int32_t> ids = tok.encode(tok.prepare(text, nullptr), {.add_special = false}).ids;
  for (int32_t id : ids)
    if (id >= vocab)
      fail(ErrorKind::config, fmt::format("{}: the tokenizer gives id {}, outside the model's vocabulary of {}", file, id, vocab));
  return ids;
}

// Source/target pairs: TSV lines "source<TAB>target", or consecutive lines (line → next line).
// Targets are framed as <start> … <stop>, so the decoder learns to start and to stop: the
// config's trg_sos_idx / trg_eos_idx (hyunwoongko's names), else the tokenizer's BOS (or EOS) and EOS.
train::Pairs read_pairs(const tokenizer::Tokenizer& tok, const std::string& text, const TrainOptions& o,
                        const io::json& config, int64_t vocab) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  const auto start = config.value("trg_sos_idx", tok.bos_id() >= 0 ? tok.bos_id() : tok.eos_id());
  const auto stop = config.value("trg_eos_idx", tok.eos_id());
  if (start < 0 || stop < 0 || start >= vocab || stop >= vocab)
    fail(ErrorKind::config, fmt::format("{}: targets need a start and a stop token: set trg_sos_idx and trg_eos_idx in the "
                                        "config (the tokenizer has BOS {}, EOS {})", o.data, tok.bos_id(), tok.eos_id()));
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  auto add = [&](const std::string& src, const std::string& tgt) {
    std::vector<int32_t> t{static_cast<int32_t>(start)};
    for (int32_t id : encode(tok, tgt, vocab, o.data)) t.push_back(id);
    t.push_back(static_cast<int32_t>(stop));
    pairs.emplace_back(encode(tok, src, vocab, o.data), std::move(t));
  };
  if (o.pairs == "lines") {
    for (size_t i = 0; i + 1 < lines.size(); ++i) add(lines[i], lines[i + 1]);
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      const size_t tab = lines[i].find('\t');
      if (tab == std::string::npos)
        fail(ErrorKind::format, fmt::format("{}: line {} has no tab between source and target (--pairs lines pairs each line "
                                            "with the next)", o.data, i + 1));
      add(lines[i].substr(0, tab), lines[i].substr(tab + 1));
    }
  }
  train::Pairs p = train::split_pairs(std::move(pairs), o.data);
  p.source_pad = config.value("src_pad_idx", int64_t{1});
  p.target_pad = config.value("trg_pad_idx", int64_t{1});
  return p;
}

train::Recipe recipe_of(const TrainOptions& o) {
  train::Recipe r;
  r.steps = o.steps;
  r.batch = o.batch;
  r.block = o.block;
  r.accum = o.accum;
  r.eval_every = o.eval_every;
  r.eval_iters = o.eval_iters;
  r.seed = o.seed;
  r.clip = o.clip;
  r.optimizer = {.kind = o.optimizer, .momentum = o.momentum, .nesterov = o.nesterov, .weight_decay = o.weight_decay,
                 .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps};
  r.schedule = {.kind = o.schedule, .lr = o.lr, .min_lr = o.min_lr < 0 ? o.lr / 10 : o.min_lr, .warmup = o.warmup};
  return r;
}

// A 64-bit FNV-1a digest of the data, recorded with every checkpoint so that a resumed run can
// refuse other data.
std::string digest(const std::string& bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return fmt::format("fnv1a64:{:016x}", h);
}

// The run being resumed: its folder, last complete checkpoint and state.
struct Previous {
  std::string last;
  train::Resumed state;
};

Previous previous_run(const std::string& out) {
  if (!fs::exists(out)) fail(ErrorKind::io, fmt::format("--resume {}: no such folder", out));
  // A kill between the two renames of a save leaves only last.previous complete.
  const std::string last =
      fs::exists(out + "/last/COMPLETE") || !fs::exists(out + "/last.previous/COMPLETE") ? out + "/last" : out + "/last.previous";
  return {last, train::read_training_checkpoint(last)};
}

// A config named again on --resume must be the one the run trains (vocab_size aside: nanoGPT's is
// set from the data's characters).
void require_same_config(const TrainOptions& o, const io::json& trained, const std::string& last) {
  const std::string& named = o.config.empty() ? o.model : o.config;
  if (named.empty()) return;
  io::json given = models::load_model(named).config_json, saved = trained;
  given.erase("vocab_size");
  saved.erase("vocab_size");
  if (given != saved)
    fail(ErrorKind::config, fmt::format("--resume: {} is not the config of the run in {} (resume without naming a model)",
                                        named, last));
}

}  // namespace

Json train_document(const TrainOptions& options, Progress& progress) {
  use_threads_and_gemm_plan(options.threads);
  TrainOptions o = options;
  std::optional<Previous> prev;
  if (!o.resume.empty()) {
    if (!o.out.empty() && fs::weakly_canonical(o.out) != fs::weakly_canonical(o.resume))
      fail(ErrorKind::config, fmt::format("--out {} and --resume {} name different runs", o.out, o.resume));
    o.out = o.resume;
    prev = previous_run(o.out);
    if (o.data.empty()) o.data = prev->state.trainer_state.at("data").at("file");
  }
  if (o.out.empty()) fail(ErrorKind::config, "train: --out DIR is required (or --resume DIR)");
  if (o.data.empty()) fail(ErrorKind::config, "train: --data FILE is required");
  if (!prev && (fs::exists(o.out + "/last") || fs::exists(o.out + "/last.previous")))
    fail(ErrorKind::config, fmt::format("--out {}: holds a training run already; --resume {} continues it, or choose another folder",
                                        o.out, o.out));
  const std::string text = read_text(o.data, "--data");
  const std::string data_digest = digest(text);
  if (prev && prev->state.trainer_state.at("data").value("digest", "") != data_digest)
    fail(ErrorKind::config, fmt::format("--resume: {} is not the data the run in {} trained on ({})", o.data, o.out,
                                        prev->state.trainer_state.at("data").value("file", "?")));
  const std::string last = prev ? prev->last : "";
  Source s = open_source(o, last, text);
  const nn::LanguageModel& root = *s.model.model.root;
  const bool encdec = root.source_vocab_size() > 0;

  train::Recipe recipe = recipe_of(o);
  std::optional<train::Resumed> resumed;
  if (prev) {
    require_same_config(o, s.config, last);
    resumed = prev->state;
    recipe = train::recipe_from_json(resumed->trainer_state.at("recipe"), last + "/trainer_state.json");
    if (o.steps_given) recipe.steps = o.steps;  // a resumed run may be extended; the rest of its recipe stays
  }
  if (!encdec) {
    const int64_t limit = root.max_positions();
    if (recipe.block == 0) recipe.block = limit > 0 ? std::min<int64_t>(limit, 256) : 256;
    if (limit > 0 && recipe.block > limit)
      fail(ErrorKind::config, fmt::format("--block {} exceeds the model's {} of {}", recipe.block, root.positions_field(), limit));
  }
  train::Job job{s.model, s.config, s.tokenizer, recipe, train::TokenStream{}, o.data, data_digest, o.out, resumed,
                 o.save_pt, o.dump_batches};
  if (encdec) {
    job.data = read_pairs(*s.tok, text, o, s.config, root.vocab_size());
  } else {
    job.data = train::split_stream(encode(*s.tok, text, root.vocab_size(), o.data), recipe.block, o.data);
  }
  // Data parallelism keeps a gradient buffer per worker: auto uses it for small models, when that
  // still fits.
  if (o.parallel != "ops") job.workers = train::batch_workers(backend::threads(), recipe.batch);
  job.memory = train::memory_plan(job);
  if (o.parallel == "auto" && job.workers > 1 &&
      (job.memory["weights_bytes"].get<uint64_t>() > train::kShardedParameterBytes || !train::fits_in_memory(job.memory))) {
    job.workers = 1;
    job.memory = train::memory_plan(job);
  }
  train::check_memory(job.memory, o.force);
  bind_weights(s, o);
  auto log = [](const std::string& line) { fmt::print(stderr, "{}\n", line); };
  Json d = train::train(job, progress, log);
  d["model"] = prev ? last : (o.config.empty() ? o.model : o.config);
  d["from_scratch"] = s.from_scratch;
  d["tokenizer"] = s.tok->describe();
  return d;
}

std::string train_command(const TrainOptions& o, Progress& progress) {
  const Format f = parse_format(o.format);
  const Json d = train_document(o, progress);
  if (f == Format::json) return d.dump(2) + "\n";
  const auto R = Table::Align::right;
  Table t({"", "value"}, {Table::Align::left, R});
  t.add({"steps", fmt::format("{} (from {})", d["final"]["step"].get<int64_t>(), d["resumed_at_step"].get<int64_t>())});
  t.add({"final train loss", fmt::format("{:.4f}", d["final"]["train_loss"].get<double>())});
  t.add({"final validation loss", fmt::format("{:.4f}", d["final"]["val_loss"].get<double>())});
  t.add({"best validation loss", fmt::format("{:.4f} at step {}", d["best"]["val_loss"].get<double>(), d["best"]["step"].get<int64_t>())});
  t.add({"tokens/s", fmt::format("{:.0f}", d["tokens_per_s"].get<double>())});
  const Json& par = d["parallelism"];
  t.add({"threads", par["over"] == "batch" ? fmt::format("{} workers over the batch's rows", par["workers"].get<int>())
                                           : fmt::format("{}, within each op", par["threads"].get<int>())});
  t.add({"skipped steps (non-finite)", std::to_string(d["skipped_steps"].get<int64_t>())});
  t.add({"peak memory planned", fmt::format("{:.1f} MiB", d["memory"]["total_bytes"].get<double>() / (1 << 20))});
  return fmt::format("{} ({}), trained on {}\n", d["model"].get<std::string>(), d["architecture"].get<std::string>(),
                     d["data"]["file"].get<std::string>()) +
         heading("Training", f) + t.render(f) + fmt::format("checkpoints: {}/best, {}/last; log: {}\n", o.out, o.out,
                                                            d["log"].get<std::string>());
}

}  // namespace anatomy::cli
