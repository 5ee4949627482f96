// One function per anatomy command; main.cpp wires them to the command line.
#pragma once

#include <string>

namespace anatomy::cli {

struct InspectOptions {
  std::string model;
  std::string format = "table";
  size_t max_tensors = 0;  // 0 = all
  // Forward cost (meta run): prefill of `tokens` after `context` cached tokens.
  int64_t tokens = 0;      // 0: no cost analysis unless context is given
  int64_t context = -1;    // -1: not given
  int64_t batch = 1;
  std::string logits = "";  // all | last; default: all for prefill, last for decode
  int depth = 3;           // rows of the module table (JSON has every module)
  bool check_tensors = false;  // map the weights and scan them for NaN/Inf
};

struct RunOptions {
  std::string model;
  std::string ids;
  int64_t top_k = 5;
  bool random_weights = false;
  uint64_t seed = 0;
  std::string dump_logits;
  std::string format = "table";
  int threads = 0;  // 0: OpenMP's default (all cores)
  bool force = false;          // run even when the predicted memory exceeds what is available
  bool check_tensors = false;  // refuse weights with NaN/Inf
};

struct ConvertOptions {
  std::string model;
  std::string gguf;
  bool random_weights = false;
  uint64_t seed = 0;
  std::string dtype = "f32";  // of synthetic weights
};

struct DeviceOptions {
  bool calibrate = false;
  bool quick = false;  // small shapes: for tests, not a real ceiling
  std::string format = "table";
  int threads = 0;
};

struct ProfileOptions {
  std::string model;
  int64_t tokens = 0;  // 0: 128 for a prefill (a decode step is one token)
  bool decode = false;
  int64_t context = 0;
  int64_t batch = 1;
  int warmup = 2;
  int repeat = 5;
  int threads = 0;
  std::string dtype;  // "" = as stored
  bool random_weights = false;
  uint64_t seed = 0;
  size_t top = 20;
  std::string format = "table";
  bool force = false;
  bool check_tensors = false;
};

// Each returns the text to print (nothing is printed before the whole result is ready).
std::string inspect_command(const InspectOptions& options);
std::string models_command(const std::string& format);
std::string run_command(const RunOptions& options);
std::string convert_command(const ConvertOptions& options);
std::string device_command(const DeviceOptions& options);
std::string profile_command(const ProfileOptions& options);

}  // namespace anatomy::cli
