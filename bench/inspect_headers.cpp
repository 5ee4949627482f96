// Benchmark: inspecting a multi-gigabyte checkpoint reads its headers, not its tensor data.
// Writes a TinyLlama-1.1B-shaped bf16 checkpoint (2.2 GB, 5 shards) once, then measures, in this
// process: bytes read (/proc/self/io rchar), page faults (getrusage) and wall time of
// load_model + count_params, median over repeats after a warm-up; and, as the peer in the same
// run, a reader that reads every byte of the shards (what a full load must do).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/params.h"
#include "models/checkpoint.h"
#include "models/loader.h"
#include "models/registry.h"

namespace {

using namespace anatomy;
using Clock = std::chrono::steady_clock;

const char* kConfig = R"({"model_type":"llama","hidden_size":2048,"intermediate_size":5632,
  "num_hidden_layers":22,"num_attention_heads":32,"num_key_value_heads":4,"vocab_size":32000,
  "tie_word_embeddings":false,"torch_dtype":"bfloat16"})";

uint64_t rchar() {
  std::ifstream io("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (io >> key >> value)
    if (key == "rchar:") return value;
  return 0;
}

uint64_t page_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_minflt + u.ru_majflt);
}

struct Stats {
  double median, p10, p90;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
}

void ensure_checkpoint(const std::string& dir) {
  if (std::filesystem::exists(dir + "/model.safetensors.index.json")) return;
  std::printf("writing %s (once) ...\n", dir.c_str());
  const auto config = io::json::parse(kConfig);
  const auto model = models::build_model(config, "bench");
  io::NamedTensors weights;
  for (const auto& ref : nn::parameter_slots(*model.root))
    weights.emplace_back(ref.path, Tensor::zeros(DType::BF16, ref.param->value.shape()));
  models::write_checkpoint(dir, config, weights, 500'000'000);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "build/bench-data/tinyllama-bf16";
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 20;
  ensure_checkpoint(dir);
  uint64_t file_bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) file_bytes += std::filesystem::file_size(e.path());

  models::load_model(dir);  // warm-up (page cache, allocator)
  std::vector<double> times;
  uint64_t read_bytes = 0, faults = 0, params = 0;
  for (int i = 0; i < repeats; ++i) {
    const uint64_t r0 = rchar(), f0 = page_faults();
    const auto t0 = Clock::now();
    const auto lm = models::load_model(dir);
    params = analysis::count_params(lm.model).total;
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    read_bytes = rchar() - r0;
    faults = page_faults() - f0;
  }
  const Stats inspect = stats(times);

  // Peer: read every byte of the checkpoint (page cache warm, so this is a lower bound).
  std::vector<char> buf(1 << 24);
  std::vector<double> full;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(e.path(), std::ios::binary);
      while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {}
    }
    full.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const Stats read_all = stats(full);

  std::printf("\n| measure | value |\n|---|---|\n");
  std::printf("| checkpoint | %s, %d repeats after 1 warm-up |\n", dir.c_str(), repeats);
  std::printf("| files on disk | %llu bytes |\n", static_cast<unsigned long long>(file_bytes));
  std::printf("| parameters counted | %llu |\n", static_cast<unsigned long long>(params));
  std::printf("| bytes read by one inspect (rchar) | %llu (%.6f%% of the files) |\n",
              static_cast<unsigned long long>(read_bytes), 100.0 * static_cast<double>(read_bytes) / static_cast<double>(file_bytes));
  std::printf("| page faults during one inspect | %llu |\n", static_cast<unsigned long long>(faults));
  std::printf("| inspect time, median (p10–p90) | %.2f ms (%.2f–%.2f) |\n", inspect.median, inspect.p10, inspect.p90);
  std::printf("| peer: read every byte (warm cache), median of 3 | %.1f ms |\n", read_all.median);
  std::printf("| ratio peer / inspect | %.0f× |\n", read_all.median / inspect.median);
  return 0;
}
