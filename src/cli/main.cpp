// anatomy — dissects, runs, profiles and trains transformer-family language models.
// Exit codes: 0 success, 2 bad input (one line naming the file and field, or the option), 1
// internal failure. Every option value is validated here, before any work starts.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "backend/device.h"
#include "cli/commands.h"
#include "cli/progress_bar.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/suggest.h"

namespace {

constexpr int64_t kMaxTokens = int64_t{1} << 24;  // a prefill or context far beyond any model's
constexpr int64_t kMaxBatch = int64_t{1} << 16;

// An integer option in [lo, hi]; the message names the range (CLI11 prefixes the option name).
CLI::Validator in_range(int64_t lo, int64_t hi, const std::string& note = "") {
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        int64_t v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size()) return fmt::format("'{}' is not an integer", s);
        if (v < lo || v > hi) return fmt::format("{} is outside [{}, {}]{}", s, lo, hi, note);
        return "";
      },
      fmt::format("in [{}, {}]", lo, hi));
}

// A real option in an interval; `lo_open`/`hi_open` exclude the ends. The message names the interval.
CLI::Validator real_in(double lo, double hi, bool lo_open, bool hi_open) {
  const std::string interval = fmt::format("{}{}, {}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        double v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return fmt::format("'{}' is not a number", s);
        if (v < lo || v > hi || (lo_open && v == lo) || (hi_open && v == hi)) return fmt::format("{} is outside {}", s, interval);
        return "";
      },
      "in " + interval);
}

CLI::Validator one_of(std::vector<std::string> values) {
  return CLI::Validator(
      [values](std::string& s) -> std::string {
        for (const auto& v : values)
          if (s == v) return "";
        std::string list;
        for (const auto& v : values) list += (list.empty() ? "" : ", ") + v;
        return fmt::format("'{}' is not one of {}{}", s, list, anatomy::did_you_mean(s, values));
      },
      "");
}

// Options several commands share, described once.
void add_model(CLI::App* cmd, std::string& model) {
  cmd->add_option("model", model, "Model folder, .safetensors, .gguf, .pt/.bin, config.json or catalog name")->required();
}
void add_format(CLI::App* cmd, std::string& format) {
  cmd->add_option("--format", format, "table | md | json")->capture_default_str()->check(one_of({"table", "md", "json"}));
}
void add_device(CLI::App* cmd, std::string& device) {
  cmd->add_option("--device", device, "Where the forward runs: cpu (default) or cuda (GPU 0)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
}

void add_threads(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads, "CPU threads (0 = all cores, the default)")->check(in_range(0, 4096, " (0 = all cores)"));
}
void add_synthetic(CLI::App* cmd, bool& random_weights, uint64_t& seed) {
  cmd->add_flag("--random-weights", random_weights, "Synthetic weights even when the checkpoint has real ones");
  cmd->add_option("--seed", seed, "Seed of the synthetic weights")->capture_default_str();
}
void add_guards(CLI::App* cmd, bool& force, bool& check_tensors) {
  cmd->add_flag("--force", force, "Run even when the predicted memory exceeds what is available");
  cmd->add_flag("--check-tensors", check_tensors, "Refuse weights holding NaN or Inf (names tensor and index)");
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// An unknown command, with the nearest known ones.
int unknown_command(const CLI::App& app, const std::string& name) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  std::fprintf(stderr, "anatomy: error: unknown command '%s'%s (anatomy --help lists them)\n", name.c_str(),
               anatomy::did_you_mean(name, names).c_str());
  return 2;
}

// "--tokenz" -> the options of the command being parsed that are close to it.
std::string option_hint(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands())
    for (const auto* opt : sub->get_options())
      for (const auto& n : opt->get_lnames()) names.push_back("--" + n);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) continue;
    arg = arg.substr(0, arg.find('='));
    if (std::find(names.begin(), names.end(), arg) == names.end() && arg != "--help") return anatomy::did_you_mean(arg, names);
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace anatomy;
  install_mapped_file_guard();
  // Activations are allocated and freed on every pass: keep freed memory in the heap instead of
  // returning it to the kernel, which otherwise maps and zero-fills fresh pages each time.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  CLI::App app{"anatomy: what is inside a language model, what it costs, where the time goes"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("anatomy ") + cli::kVersion);

  cli::InspectOptions inspect;
  auto* ins = app.add_subcommand("inspect", "Config, parameters, tensors and sizes of a model (headers only)");
  add_model(ins, inspect.model);
  add_format(ins, inspect.format);
  ins->add_option("--max-tensors", inspect.max_tensors, "Rows of the tensor table (0 = all)")->capture_default_str()
      ->check(in_range(0, int64_t{1} << 40, " (0 = all)"));
  ins->add_option("--tokens", inspect.tokens, "Forward cost of a prefill of T tokens (meta run, no weights needed)")
      ->check(in_range(1, kMaxTokens));
  ins->add_option("--context", inspect.context, "Tokens already cached: alone, one decode step after L tokens")
      ->check(in_range(0, kMaxTokens));
  ins->add_option("--batch", inspect.batch, "Sequences in the batch")->capture_default_str()->check(in_range(1, kMaxBatch));
  ins->add_option("--logits", inspect.logits, "all | last: positions the LM head computes (default: all for prefill)")
      ->check(one_of({"all", "last"}));
  ins->add_option("--depth", inspect.depth, "Depth of the module table")->capture_default_str()->check(in_range(0, 64));
  ins->add_flag("--check-tensors", inspect.check_tensors, "Read the weights and report tensors holding NaN or Inf");

  cli::RunOptions runo;
  auto* run = app.add_subcommand("run", "One forward pass: next-token top-k probabilities");
  add_model(run, runo.model);
  run->add_option("--ids", runo.ids, "Comma-separated token ids (the decoder's, for an encoder-decoder)")->required();
  run->add_option("--source-ids", runo.source_ids, "Comma-separated ids of the encoder's input (encoder-decoders)");
  run->add_option("--top-k", runo.top_k, "How many next tokens to show")->capture_default_str()
      ->check(in_range(1, int64_t{1} << 31));
  add_synthetic(run, runo.random_weights, runo.seed);
  run->add_option("--dump-logits", runo.dump_logits, "Write all logits [1, T, V] as float32 .npy");
  run->add_option("--dump-grads", runo.dump_grads,
                  "Write the gradient of the mean next-token cross-entropy over the ids (the training loss) for "
                  "every parameter, as float32 .safetensors under the parameters' names (CPU)");
  add_format(run, runo.format);
  add_threads(run, runo.threads);
  add_device(run, runo.device);
  add_guards(run, runo.force, runo.check_tensors);

  cli::ConvertOptions conv;
  auto* cvt = app.add_subcommand("convert", "Write the model as GGUF (llama.cpp's names and layouts) or safetensors (Hugging Face's)");
  add_model(cvt, conv.model);
  cvt->add_option("--gguf", conv.gguf, "Output .gguf file");
  cvt->add_option("--safetensors", conv.safetensors, "Output .safetensors file (Hugging Face names; the config stays yours)");
  add_synthetic(cvt, conv.random_weights, conv.seed);
  cvt->add_option("--dtype", conv.dtype, "dtype of synthetic weights: f32, f16, bf16")->capture_default_str()
      ->check(one_of({"f32", "f16", "bf16"}));
  cvt->add_option("--scale", conv.scale, "Synthetic weights are uniform in [-scale, scale]; norm scales are 1")
      ->capture_default_str()->check(CLI::Range(1e-6, 10.0));
  cvt->add_option("--tokenizer", conv.tokenizer, "Write this tokenizer into the GGUF (default: the model folder's own)");
  add_format(cvt, conv.format);

  cli::ProfileOptions prof;
  auto* pro = app.add_subcommand("profile", "Time per module next to the FLOPs it executed, against this machine's ceilings");
  add_model(pro, prof.model);
  pro->add_option("--tokens", prof.tokens, "Prefill length (default: 128, or the model's context when shorter)")
      ->check(in_range(1, kMaxTokens));
  pro->add_flag("--decode", prof.decode, "Profile one decode step after --context cached tokens");
  pro->add_option("--source-ids", prof.source_ids, "Encoder-decoders: the encoder's input (default: the target ids)");
  pro->add_option("--context", prof.context, "Tokens in the cache before the profiled pass")->capture_default_str()
      ->check(in_range(0, kMaxTokens));
  pro->add_option("--batch", prof.batch, "Sequences in the batch")->capture_default_str()->check(in_range(1, kMaxBatch));
  pro->add_option("--warmup", prof.warmup, "Warm-up passes, excluded from every figure")->capture_default_str()
      ->check(in_range(0, 1000));
  pro->add_option("--repeat", prof.repeat, "Timed passes (medians are reported)")->capture_default_str()
      ->check(in_range(1, 1000));
  add_threads(pro, prof.threads);
  add_device(pro, prof.device);
  pro->add_option("--dtype", prof.dtype, "Run the weights in f32, bf16 or f16 (default: as stored)")
      ->check(one_of({"f32", "bf16", "f16"}));
  add_synthetic(pro, prof.random_weights, prof.seed);
  pro->add_option("--top", prof.top, "Rows of the slowest-modules table")->capture_default_str()
      ->check(in_range(1, int64_t{1} << 20));
  add_format(pro, prof.format);
  add_guards(pro, prof.force, prof.check_tensors);

  cli::DeviceOptions dev;
  auto* dvc = app.add_subcommand("device", "The processor and its measured ceilings (GEMM FLOP/s, memory bandwidth)");
  dvc->add_flag("--calibrate", dev.calibrate, "Measure again even when cached");
  dvc->add_flag("--quick", dev.quick, "Small shapes and arrays (seconds; for tests, never cached or used as a ceiling)");
  add_threads(dvc, dev.threads);
  add_device(dvc, dev.device);
  add_format(dvc, dev.format);

  cli::TokenizeOptions toko;
  auto* tkz = app.add_subcommand("tokenize", "Text to token ids with the model's own tokenizer, or ids back to text (--decode)");
  tkz->add_option("model", toko.model, "Model folder or file, or a tokenizer file (tokenizer.json, vocab.json, tokenizer.model, .gguf, meta.pkl)")->required();
  tkz->add_option("--tokenizer", toko.tokenizer, "Use this tokenizer instead of the model's");
  auto* text_opt = tkz->add_option("--text", toko.text_file, "Read the input from this file");
  auto* string_opt = tkz->add_option("--string", toko.string, "The input itself");
  text_opt->excludes(string_opt);
  tkz->add_option("--format", toko.format, "ids | json | table")->capture_default_str()->check(one_of({"ids", "json", "table", "md"}));
  tkz->add_flag("--decode", toko.decode, "The input holds ids (space- or comma-separated): print their text");
  tkz->add_flag("--no-special", toko.no_special, "No BOS/EOS when encoding; drop special tokens when decoding");
  tkz->add_flag("--lines", toko.lines, "Tokenize each line of the input on its own (ids: one line of ids per line)");

  cli::GenerateOptions gen;
  auto* gnr = app.add_subcommand("generate", "Generate text (streamed), with prefill and decode speed on stderr");
  add_model(gnr, gen.model);
  auto* prompt_opt = gnr->add_option("--prompt", gen.prompt, "The prompt");
  gnr->add_option("--prompt-file", gen.prompt_file, "Read the prompt from this file")->excludes(prompt_opt);
  gnr->add_option("--tokenizer", gen.tokenizer, "Use this tokenizer instead of the model's");
  gnr->add_option("--max-new-tokens,-n", gen.max_new_tokens, "Tokens to generate at most")->capture_default_str()
      ->check(in_range(1, kMaxTokens));
  gnr->add_option("--temperature", gen.temperature, "Sampling temperature (0 = greedy)")->capture_default_str()
      ->check(real_in(0, 1e6, false, false));
  gnr->add_option("--top-k", gen.top_k, "Keep the k most probable tokens (0 = off)")->capture_default_str()->check(in_range(0, int64_t{1} << 31));
  gnr->add_option("--top-p", gen.top_p, "Nucleus: the smallest set holding this probability, in (0, 1]")->capture_default_str()
      ->check(real_in(0, 1, true, false));
  gnr->add_option("--min-p", gen.min_p, "Drop tokens below this fraction of the top probability, in [0, 1)")->capture_default_str()
      ->check(real_in(0, 1, false, true));
  gnr->add_option("--repetition-penalty", gen.repetition_penalty, "Penalty for tokens already seen (1 = off)")->capture_default_str()
      ->check(real_in(0, 1e6, true, false));
  gnr->add_option("--seed", gen.seed, "Seed of sampling (and of synthetic weights)")->capture_default_str();
  gnr->add_option("--stop", gen.stop, "Stop when this text appears (repeatable; not printed)");
  gnr->add_flag("--ignore-eos", gen.ignore_eos, "Do not stop at the end-of-sequence token");
  gnr->add_flag("--no-special", gen.no_special, "Do not add BOS/EOS to the prompt");
  gnr->add_option("--source", gen.source, "Encoder-decoders: the encoder's input text");
  gnr->add_option("--source-ids", gen.source_ids, "Encoder-decoders: the encoder's input ids");
  gnr->add_flag("--random-weights", gen.random_weights, "Synthetic weights even when the checkpoint has real ones");
  gnr->add_option("--format", gen.format, "text (streamed) | json")->capture_default_str()->check(one_of({"text", "json"}));
  add_threads(gnr, gen.threads);
  add_device(gnr, gen.device);
  gnr->add_flag("--force", gen.force, "Run even when the predicted memory exceeds what is available");

  cli::EvalOptions evo;
  auto* evl = app.add_subcommand("eval", "Perplexity of a text (llama-perplexity's protocol, or strided with --stride)");
  add_model(evl, evo.model);
  evl->add_option("--text", evo.text_file, "The text file to score")->required();
  evl->add_option("--tokenizer", evo.tokenizer, "Use this tokenizer instead of the model's");
  evl->add_option("--ctx", evo.ctx, "Window in tokens (default 512, or the model's context when shorter)")->check(in_range(2, kMaxTokens));
  evl->add_option("--stride", evo.stride, "Strided sliding windows (Hugging Face's guide) with this step")->check(in_range(1, kMaxTokens));
  evl->add_option("--chunks", evo.chunks, "Score at most this many windows")->check(in_range(1, kMaxTokens));
  add_synthetic(evl, evo.random_weights, evo.seed);
  add_format(evl, evo.format);
  add_threads(evl, evo.threads);
  add_device(evl, evo.device);
  evl->add_flag("--force", evo.force, "Run even when the predicted memory exceeds what is available");

  cli::TrainOptions trn;
  auto* tra = app.add_subcommand("train", "Train on the CPU (gradients through the same forward), with checkpoints and a log");
  tra->add_option("model", trn.model, "A checkpoint folder to fine-tune");
  tra->add_option("--config", trn.config, "Train from scratch: a config.json or a catalog name");
  tra->add_option("--data", trn.data, "Text to train on (encoder-decoders: TSV source<TAB>target pairs)");
  tra->add_option("--out", trn.out, "Folder for best/, last/ and log.jsonl");
  tra->add_option("--tokenizer", trn.tokenizer, "Use this tokenizer instead of the model's");
  tra->add_option("--pairs", trn.pairs, "Encoder-decoders: tsv, or lines (each line paired with the next)")
      ->check(one_of({"tsv", "lines"}));
  auto* steps_opt = tra->add_option("--steps", trn.steps, "Optimizer steps")->capture_default_str()->check(in_range(1, 1'000'000'000));
  tra->add_option("--batch", trn.batch, "Sequences per micro-batch")->capture_default_str()->check(in_range(1, kMaxBatch));
  tra->add_option("--block", trn.block, "Tokens per sequence (default: the model's context, at most 256)")->check(in_range(1, kMaxTokens));
  tra->add_option("--accum", trn.accum, "Micro-batches accumulated per step")->capture_default_str()->check(in_range(1, 1'000'000));
  tra->add_option("--lr", trn.lr, "Peak learning rate")->capture_default_str();
  tra->add_option("--min-lr", trn.min_lr, "Cosine schedule's floor (default lr/10)");
  tra->add_option("--optimizer", trn.optimizer, "sgd or adamw")->capture_default_str()->check(one_of({"sgd", "adamw"}));
  tra->add_option("--momentum", trn.momentum, "SGD momentum")->capture_default_str();
  tra->add_flag("--nesterov", trn.nesterov, "SGD with Nesterov momentum");
  tra->add_option("--weight-decay", trn.weight_decay, "Decoupled (AdamW) or L2 (SGD) decay of matrices and embeddings")
      ->capture_default_str();
  tra->add_option("--beta1", trn.beta1, "AdamW β1")->capture_default_str();
  tra->add_option("--beta2", trn.beta2, "AdamW β2")->capture_default_str();
  tra->add_option("--eps", trn.eps, "AdamW ε")->capture_default_str();
  tra->add_option("--schedule", trn.schedule, "constant or cosine (after --warmup linear steps)")->capture_default_str()
      ->check(one_of({"constant", "cosine"}));
  tra->add_option("--warmup", trn.warmup, "Linear warm-up steps")->capture_default_str();
  tra->add_option("--clip", trn.clip, "Clip gradients to this global norm (0: off)")->capture_default_str();
  tra->add_option("--eval-every", trn.eval_every, "Evaluate and checkpoint every N steps")->capture_default_str()
      ->check(in_range(1, 1'000'000'000));
  tra->add_option("--eval-iters", trn.eval_iters, "Validation batches per evaluation")->capture_default_str()
      ->check(in_range(1, 1'000'000));
  tra->add_option("--seed", trn.seed, "Seed of the initial weights, batches and dropout")->capture_default_str();
  tra->add_option("--parallel", trn.parallel,
                  "batch: each thread trains on its share of the batch's rows (one pass per thread, gradients "
                  "summed); ops: one pass, each op split across the threads; auto: batch when its extra gradient "
                  "buffers fit in memory")
      ->capture_default_str()->check(one_of({"auto", "batch", "ops"}));
  tra->add_option("--resume", trn.resume, "Continue the run whose --out folder this is, from its last complete checkpoint");
  tra->add_option("--dump-batches", trn.dump_batches,
                  "Write each micro-batch's offsets into the data (one JSON line each), to replay the run elsewhere");
  tra->add_flag("--force", trn.force, "Train even when the planned memory exceeds what is available");
  tra->add_flag("--save-pt", trn.save_pt, "Also write best/best_model.pt, a state_dict torch.load(weights_only=True) reads");
  add_threads(tra, trn.threads);
  add_format(tra, trn.format);

  cli::BenchOptions ben;
  auto* bnc = app.add_subcommand("bench", "Prefill and decode speed as llama-bench measures it (medians after warm-up)");
  add_model(bnc, ben.model);
  bnc->add_option("-p,--prefill", ben.prefill, "Prefill lengths, comma-separated")->delimiter(',')->capture_default_str()
      ->check(in_range(1, kMaxTokens));
  bnc->add_option("-n,--decode", ben.decode_tokens, "Decode length (0 = none)")->capture_default_str()->check(in_range(0, kMaxTokens));
  bnc->add_option("-r,--repeat", ben.repeat, "Timed runs per test")->capture_default_str()->check(in_range(1, 1000));
  bnc->add_option("--warmup", ben.warmup, "Untimed runs before each test")->capture_default_str()->check(in_range(0, 1000));
  bnc->add_option("--batch", ben.batch, "Sequences per pass")->capture_default_str()->check(in_range(1, kMaxBatch));
  bnc->add_option("--dtype", ben.dtype, "Run the weights in f32, bf16 or f16 (default: as stored)")->check(one_of({"f32", "bf16", "f16"}));
  bnc->add_option("--scaling", ben.scaling, "Forward time at each of these lengths, comma-separated")->delimiter(',')
      ->check(in_range(1, kMaxTokens));
  bnc->add_option("--workload", ben.workload, "PROMPT,NEW,BATCH: whole-sequence greedy generation latency and sequences/s")
      ->delimiter(',')->expected(3)->check(in_range(1, kMaxTokens));
  add_synthetic(bnc, ben.random_weights, ben.seed);
  add_threads(bnc, ben.threads);
  add_device(bnc, ben.device);
  add_format(bnc, ben.format);
  bnc->add_flag("--force", ben.force, "Run even when the predicted memory exceeds what is available");

  cli::ReportOptions rep;
  auto* rpt = app.add_subcommand("report", "The model's report: Markdown, charts (PNG, SVG) and an offline HTML page, in en, ru, zh-TW or zh-CN");
  add_model(rpt, rep.model);  // or a report.json made earlier: rendered again, nothing measured
  rpt->add_option("--out", rep.out, "Folder for report.json, report.md, report.html and charts/")->capture_default_str();
  rpt->add_option("--lang", rep.lang, "Language: en, ru, zh-TW or zh-CN")->capture_default_str()
      ->check(one_of({"en", "ru", "zh-TW", "zh-CN"}));
  rpt->add_flag("--html", rep.html, "Also write report.html: one self-contained page that opens offline");
  rpt->add_option("--sections", rep.sections,
                  "Comma-separated: summary, config, components, diagram, arithmetic, modules, tensors, flops, memory, "
                  "profile, bench, eval, training (default: all)")->delimiter(',');
  rpt->add_option("--tokens", rep.tokens, "Sequence length of the meta run, profile and benchmark (default 128, or the model's context when shorter)")
      ->check(in_range(1, kMaxTokens));
  rpt->add_option("--text", rep.text, "A text file to measure perplexity on (needs trained weights)");
  rpt->add_option("--tokenizer", rep.tokenizer, "Use this tokenizer for --text instead of the model's");
  rpt->add_option("--train-log", rep.train_log, "The --out folder of the `anatomy train` run that made the model");
  rpt->add_option("-r,--repeat", rep.repeat, "Timed runs per measurement")->capture_default_str()->check(in_range(1, 1000));
  rpt->add_option("--warmup", rep.warmup, "Untimed runs before the profile's timed ones")->capture_default_str()->check(in_range(0, 1000));
  rpt->add_flag("--meta", rep.meta, "Run nothing: only what the meta run knows (no profile, benchmark or perplexity)");
  add_synthetic(rpt, rep.random_weights, rep.seed);
  add_threads(rpt, rep.threads);
  add_device(rpt, rep.device);
  rpt->add_flag("--force", rep.force, "Run even when the predicted memory exceeds what is available");

  cli::CompareOptions cmp;
  auto* cpr = app.add_subcommand("compare", "Bench, profile or eval JSON documents side by side, with ratios to the first");
  cpr->add_option("files", cmp.files, "Two or more documents of one kind (--format json of bench, profile or eval)")
      ->required()->expected(2, -1);
  cpr->add_option("--format", cmp.format, "table | md | json | html (one offline page)")->capture_default_str()
      ->check(one_of({"table", "md", "json", "html"}));

  std::string models_format = "table";
  auto* mod = app.add_subcommand("models", "List the built-in catalog of architectures");
  add_format(mod, models_format);

  if (argc > 1 && argv[1][0] != '-') {
    const auto subs = app.get_subcommands([&](const CLI::App* s) { return s->get_name() == argv[1]; });
    if (subs.empty()) return unknown_command(app, argv[1]);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    std::fprintf(stderr, "anatomy: error: %s%s\n", one_line(e.what()).c_str(), option_hint(app, argc, argv).c_str());
    return 2;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "anatomy: error: %s\n", one_line(e.what()).c_str());
    return 2;
  }
  try {
    backend::apply_isa_cap();
    cli::ProgressBar progress(isatty(STDERR_FILENO) == 1);
    std::string out;
    if (*ins) out = cli::inspect_command(inspect, progress);
    else if (*mod) out = cli::models_command(models_format);
    else if (*run) out = cli::run_command(runo, progress);
    else if (*cvt) out = cli::convert_command(conv, progress);
    else if (*pro) out = cli::profile_command(prof, progress);
    else if (*dvc) out = cli::device_command(dev, progress);
    else if (*gnr) {
      if (gen.prompt_file.empty() && prompt_opt->count() == 0) throw Error(ErrorKind::config, "generate: give the prompt with --prompt TEXT or --prompt-file F");
      out = cli::generate_command(gen, progress);
    } else if (*evl)
      out = cli::eval_command(evo, progress);
    else if (*bnc)
      out = cli::bench_command(ben, progress);
    else if (*tra) {
      trn.steps_given = steps_opt->count() > 0;
      out = cli::train_command(trn, progress);
    }
    else if (*cpr)
      out = cli::compare_command(cmp);
    else if (*rpt) {
      for (int i = 0; i < argc; ++i) rep.command += (i ? " " : "anatomy") + (i ? std::string(argv[i]) : "");
      out = cli::report_command(rep, progress);
    }
    else if (*tkz) {
      if (toko.text_file.empty() && string_opt->count() == 0) throw Error(ErrorKind::config, "tokenize: give the input with --text FILE or --string S");
      out = cli::tokenize_command(toko, progress);
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "anatomy: error: %s\n", e.what());
    return e.kind() == ErrorKind::internal ? 1 : 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "anatomy: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "anatomy: internal error: %s\n", e.what());
    return 1;
  }
}
