// One function per anatomy command; main.cpp wires them to the command line and validates every
// option value first. Each command builds its document (JSON with a versioned schema) and renders
// table and md from that document alone, so every format shows the same figures and the report
// layer can read the documents. Nothing is printed before the whole result is ready; long work
// reports to the progress sink.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.h"
#include "io/json.h"

namespace anatomy::cli {

inline constexpr const char* kVersion = "0.1.0";

struct InspectOptions {
  std::string model;
  std::string format = "table";
  int64_t max_tensors = 0;  // 0 = all
  // Forward cost (meta run): prefill of `tokens` after `context` cached tokens.
  int64_t tokens = 0;       // 0: not given (a decode step of 1 token with --context)
  int64_t context = -1;     // -1: not given
  int64_t batch = 1;
  std::string logits;       // all | last; default: all for prefill, last for decode
  int depth = 3;            // rows of the module table (JSON has every module)
  bool check_tensors = false;  // map the weights and scan them for NaN/Inf
};

struct RunOptions {
  std::string model;
  std::string ids;
  std::string source_ids;  // the encoder's input (encoder-decoders only)
  int64_t top_k = 5;
  bool random_weights = false;
  uint64_t seed = 0;
  std::string dump_logits;
  std::string dump_grads;  // safetensors of d(mean next-token cross-entropy)/d(parameter)
  std::string format = "table";
  int threads = 0;  // 0: OpenMP's default (all cores)
  std::string device = "cpu";  // cpu | cuda
  bool force = false;          // run even when the predicted memory exceeds what is available
  bool check_tensors = false;  // refuse weights with NaN/Inf
};

struct ConvertOptions {
  std::string model;
  std::string gguf;
  std::string safetensors;  // instead of gguf: Hugging Face names and layouts
  bool random_weights = false;
  uint64_t seed = 0;
  std::string dtype = "f32";  // of synthetic weights
  float scale = 0.02f;        // synthetic weights are uniform in [-scale, scale] (norm scales 1)
  std::string format = "table";
  std::string tokenizer;      // overrides the model folder's tokenizer
};

struct DeviceOptions {
  bool calibrate = false;
  bool quick = false;  // small shapes: for tests, never cached, never a ceiling
  std::string format = "table";
  int threads = 0;
  std::string device = "cpu";  // cpu | cuda
};

struct ProfileOptions {
  std::string model;
  std::string source_ids;  // encoder-decoders: the encoder's input (default: the target ids)
  int64_t tokens = 0;  // 0: not given — 128, or the model's context when shorter (decode: 1)
  bool decode = false;
  int64_t context = 0;
  int64_t batch = 1;
  int warmup = 2;
  int repeat = 5;
  int threads = 0;
  std::string device = "cpu";  // cpu | cuda
  std::string dtype;  // "" = as stored
  bool random_weights = false;
  uint64_t seed = 0;
  int64_t top = 20;
  std::string format = "table";
  bool force = false;
  bool check_tensors = false;
};

struct TokenizeOptions {
  std::string model;      // model folder or file, or a tokenizer file
  std::string tokenizer;  // overrides the model's own tokenizer
  std::string text_file, string;
  std::string format = "ids";  // ids | json | table
  bool decode = false;         // the input holds ids; print the text
  bool no_special = false;     // no BOS/EOS (encode), skip special tokens (decode)
  bool lines = false;          // each line of the input separately
};

struct GenerateOptions {
  std::string model, tokenizer;
  std::string prompt, prompt_file;
  std::string source, source_ids;  // encoder-decoders: the encoder's input
  int64_t max_new_tokens = 128;
  double temperature = 0.8;  // 0: greedy
  int64_t top_k = 0;
  double top_p = 1.0;
  double min_p = 0.0;
  double repetition_penalty = 1.0;
  uint64_t seed = 0;  // sampling and synthetic weights
  std::vector<std::string> stop;
  bool ignore_eos = false;
  bool no_special = false;
  bool random_weights = false;
  std::string format = "text";  // text (streamed) | json
  int threads = 0;
  std::string device = "cpu";  // cpu | cuda
  bool force = false;
};

struct EvalOptions {
  std::string model, tokenizer, text_file;
  int64_t ctx = 0;     // 0: 512, or the model's context when shorter
  int64_t stride = 0;  // 0: llama-perplexity's windows
  int64_t chunks = 0;  // 0: every window
  bool random_weights = false;
  uint64_t seed = 0;
  std::string format = "table";
  int threads = 0;
  std::string device = "cpu";  // cpu | cuda
  bool force = false;
};

struct TrainOptions {
  std::string model;      // a checkpoint to fine-tune
  std::string config;     // or a config (file or catalog name) to train from scratch
  std::string data, out, tokenizer;
  std::string pairs = "tsv";  // encoder-decoders: tsv (source<TAB>target) or lines (line -> next line)
  int64_t steps = 1000, batch = 32, block = 0, accum = 1, eval_every = 100, eval_iters = 20, warmup = 0;
  bool steps_given = false;  // --steps on the command line (a resumed run may be extended)
  double lr = 3e-4, min_lr = -1, momentum = 0, weight_decay = 0, clip = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool nesterov = false;
  std::string optimizer = "adamw", schedule = "constant";
  uint64_t seed = 1337;
  std::string resume;  // the --out folder of a run to continue
  std::string dump_batches;  // one JSON line per micro-batch: split, step, offsets
  bool force = false;        // train even when the memory plan exceeds what is available
  bool save_pt = false;
  std::string format = "table";
  int threads = 0;
  // batch: data-parallel workers (train/parallel.h); ops: each op across the threads; auto: batch
  // when its extra gradient buffers fit in memory
  std::string parallel = "auto";
};

struct BenchOptions {
  std::string model;
  std::vector<int64_t> prefill = {512};  // -p: prefill lengths
  int64_t decode_tokens = 128;           // -n: decode length (0 = no decode test)
  int64_t batch = 1;
  int warmup = 1;
  int repeat = 5;
  int threads = 0;
  std::string device = "cpu";  // cpu | cuda
  std::string dtype;  // "" = as stored
  bool random_weights = false;
  uint64_t seed = 0;
  std::vector<int64_t> scaling;   // forward time at each of these lengths
  std::vector<int64_t> workload;  // prompt, new tokens, batch: whole-sequence latency and seq/s
  std::string format = "table";
  bool force = false;
};

// The documents (schemas in docs/: inspect.md, profile.md; run, device, convert and models in README).
io::ordered_json inspect_document(const InspectOptions& options, Progress& progress);
io::ordered_json run_document(const RunOptions& options, Progress& progress);
io::ordered_json profile_document(const ProfileOptions& options, Progress& progress);
io::ordered_json device_document(const DeviceOptions& options, Progress& progress);
io::ordered_json models_document();
io::ordered_json convert_document(const ConvertOptions& options, Progress& progress);
io::ordered_json tokenize_document(const TokenizeOptions& options, Progress& progress);
io::ordered_json eval_document(const EvalOptions& options, Progress& progress);
io::ordered_json bench_document(const BenchOptions& options, Progress& progress);

// Each returns the text to print, rendered from its document in options.format.
std::string inspect_command(const InspectOptions& options, Progress& progress);
std::string models_command(const std::string& format);
std::string run_command(const RunOptions& options, Progress& progress);
std::string convert_command(const ConvertOptions& options, Progress& progress);
std::string device_command(const DeviceOptions& options, Progress& progress);
std::string profile_command(const ProfileOptions& options, Progress& progress);
std::string tokenize_command(const TokenizeOptions& options, Progress& progress);
// Streams the text to stdout while it is generated (format text) and returns "", or returns the JSON.
std::string generate_command(const GenerateOptions& options, Progress& progress);
std::string eval_command(const EvalOptions& options, Progress& progress);
io::ordered_json train_document(const TrainOptions& options, Progress& progress);
std::string train_command(const TrainOptions& options, Progress& progress);
std::string bench_command(const BenchOptions& options, Progress& progress);

struct ReportOptions {
  std::string model, out = "report", lang = "en";
  std::vector<std::string> sections;  // empty: every section
  std::string text, tokenizer;        // eval: the text to score
  std::string train_log;              // the --out folder of the `anatomy train` run that made the model
  int64_t tokens = 0;                 // 0: 128, or the model's context when shorter
  int warmup = 2, repeat = 5;
  bool html = false;
  bool meta = false;  // nothing run: the sections of the meta run only
  bool random_weights = false, force = false;
  uint64_t seed = 0;
  int threads = 0;
  std::string device = "cpu";
  std::string command;  // the command line, for the footer
};
// anatomy.report/1 (docs/report.md): the inspect, profile, bench, eval and training documents of
// one model, gathered; the renderers read nothing else.
io::ordered_json report_document(const ReportOptions& options, Progress& progress);
// Writes DIR/report.json, report.md, charts/*.png|svg and (--html) report.html; returns the file list.
std::string report_command(const ReportOptions& options, Progress& progress);

struct CompareOptions {
  std::vector<std::string> files;  // two or more bench, profile or eval JSON documents of one kind
  std::string format = "table";
};
io::ordered_json compare_document(const CompareOptions& options);
std::string compare_command(const CompareOptions& options);

}  // namespace anatomy::cli
