// anatomy — dissects, runs, profiles and trains transformer-family language models.
// Exit codes: 0 success, 2 bad input (one line naming file and field), 1 internal failure.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace {

// Options several commands share, described once.
void add_model(CLI::App* cmd, std::string& model) {
  cmd->add_option("model", model, "Model folder, .safetensors, .gguf, .pt/.bin, config.json or catalog name")->required();
}
void add_format(CLI::App* cmd, std::string& format) {
  cmd->add_option("--format", format, "table | md | json")->capture_default_str();
}
void add_threads(CLI::App* cmd, int& threads) {
  cmd->add_option("--threads", threads, "CPU threads (default: all cores)");
}
void add_synthetic(CLI::App* cmd, bool& random_weights, uint64_t& seed) {
  cmd->add_flag("--random-weights", random_weights, "Synthetic weights even when the checkpoint has real ones");
  cmd->add_option("--seed", seed, "Seed of the synthetic weights")->capture_default_str();
}
void add_guards(CLI::App* cmd, bool& force, bool& check_tensors) {
  cmd->add_flag("--force", force, "Run even when the predicted memory exceeds what is available");
  cmd->add_flag("--check-tensors", check_tensors, "Refuse weights holding NaN or Inf (names tensor and index)");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace anatomy;
  install_mapped_file_guard();
  CLI::App app{"anatomy: what is inside a language model, what it costs, where the time goes"};
  app.require_subcommand(1);

  cli::InspectOptions inspect;
  auto* ins = app.add_subcommand("inspect", "Config, parameters, tensors and sizes of a model (headers only)");
  add_model(ins, inspect.model);
  add_format(ins, inspect.format);
  ins->add_option("--max-tensors", inspect.max_tensors, "Rows of the tensor table (0 = all)")->capture_default_str();
  ins->add_option("--tokens", inspect.tokens, "Forward cost of a prefill of T tokens (meta run, no weights needed)");
  ins->add_option("--context", inspect.context, "Tokens already cached: alone, one decode step after L tokens");
  ins->add_option("--batch", inspect.batch, "Sequences in the batch")->capture_default_str();
  ins->add_option("--logits", inspect.logits, "all | last: positions the LM head computes (default: all for prefill)");
  ins->add_option("--depth", inspect.depth, "Depth of the module table")->capture_default_str();
  ins->add_flag("--check-tensors", inspect.check_tensors, "Read the weights and report tensors holding NaN or Inf");

  cli::RunOptions runo;
  auto* run = app.add_subcommand("run", "One forward pass: next-token top-k probabilities");
  add_model(run, runo.model);
  run->add_option("--ids", runo.ids, "Comma-separated token ids")->required();
  run->add_option("--top-k", runo.top_k, "How many next tokens to show")->capture_default_str();
  add_synthetic(run, runo.random_weights, runo.seed);
  run->add_option("--dump-logits", runo.dump_logits, "Write all logits [1, T, V] as float32 .npy");
  add_format(run, runo.format);
  add_threads(run, runo.threads);
  add_guards(run, runo.force, runo.check_tensors);

  cli::ConvertOptions conv;
  auto* cvt = app.add_subcommand("convert", "Write the model as GGUF (llama.cpp's names and layouts)");
  add_model(cvt, conv.model);
  cvt->add_option("--gguf", conv.gguf, "Output .gguf file")->required();
  add_synthetic(cvt, conv.random_weights, conv.seed);
  cvt->add_option("--dtype", conv.dtype, "dtype of synthetic weights: f32, f16, bf16")->capture_default_str();

  cli::ProfileOptions prof;
  auto* pro = app.add_subcommand("profile", "Time per module next to the FLOPs it executed, against this machine's ceilings");
  add_model(pro, prof.model);
  pro->add_option("--tokens", prof.tokens, "Prefill length (default 128)");
  pro->add_flag("--decode", prof.decode, "Profile one decode step after --context cached tokens");
  pro->add_option("--context", prof.context, "Tokens in the cache before the profiled pass")->capture_default_str();
  pro->add_option("--batch", prof.batch, "Sequences in the batch")->capture_default_str();
  pro->add_option("--warmup", prof.warmup, "Warm-up passes, excluded from every figure")->capture_default_str();
  pro->add_option("--repeat", prof.repeat, "Timed passes (medians are reported)")->capture_default_str();
  add_threads(pro, prof.threads);
  pro->add_option("--dtype", prof.dtype, "Run the weights in f32, bf16 or f16 (default: as stored)");
  add_synthetic(pro, prof.random_weights, prof.seed);
  pro->add_option("--top", prof.top, "Rows of the slowest-modules table")->capture_default_str();
  add_format(pro, prof.format);
  add_guards(pro, prof.force, prof.check_tensors);

  cli::DeviceOptions dev;
  auto* dvc = app.add_subcommand("device", "The processor and its measured ceilings (GEMM FLOP/s, memory bandwidth)");
  dvc->add_flag("--calibrate", dev.calibrate, "Measure again even when cached");
  dvc->add_flag("--quick", dev.quick, "Small shapes and arrays (seconds; for tests, not a real ceiling)");
  add_threads(dvc, dev.threads);
  add_format(dvc, dev.format);

  std::string models_format = "table";
  auto* mod = app.add_subcommand("models", "List the built-in catalog of architectures");
  add_format(mod, models_format);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  try {
    std::string out;
    if (*ins) out = cli::inspect_command(inspect);
    else if (*mod) out = cli::models_command(models_format);
    else if (*run) out = cli::run_command(runo);
    else if (*cvt) out = cli::convert_command(conv);
    else if (*pro) out = cli::profile_command(prof);
    else if (*dvc) out = cli::device_command(dev);
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
