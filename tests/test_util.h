// Helpers shared by the tests: temporary folders, raw file writing, running the binary.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/cpu/gemm.h"
#include "core/error.h"
#include "core/half.h"
#include "core/tensor.h"

namespace anatomy::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "anatomy-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int exit_code;
  std::string out, err;
};

// Runs the anatomy binary with `args` (already shell-quoted), after `env` ("NAME=value ").
inline RunResult run_anatomy(const std::string& args, const std::string& env = "") {
  TempDir tmp;
  const std::string cmd = env + std::string(ANATOMY_BIN) + " " + args + " >" + (tmp / "out") + " 2>" + (tmp / "err");
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(tmp / "out"), read_file(tmp / "err")};
}

// Expects f() to throw an anatomy::Error whose message contains every string of `must_name`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& must_name) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one naming " << must_name.back();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& s : must_name) EXPECT_NE(msg.find(s), std::string::npos) << msg;
  }
}

// A tensor of uniform values in [lo, hi), stored in `dtype` (F32, BF16 or F16), from `seed`.
inline Tensor random_tensor(DType dtype, Shape shape, uint32_t seed, float lo = -1, float hi = 1) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t = Tensor::empty(dtype, std::move(shape));
  for (uint64_t i = 0; i < t.numel(); ++i) {
    const float v = u(rng);
    if (dtype == DType::F32) t.data<float>()[i] = v;
    else t.data<uint16_t>()[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  return t;
}

inline std::string shared_dir() { return ANATOMY_SHARED_DIR; }
inline bool have_shared() { return std::filesystem::exists(shared_dir() + "/models"); }

// Sets the linear op's prefill GEMM plan for one test and restores the previous plan when it ends,
// also when an assertion ends it early.
class ScopedLinearPlan {
 public:
  explicit ScopedLinearPlan(cpu::LinearPlan plan) : saved_(cpu::linear_plan()) { cpu::set_linear_plan(std::move(plan)); }
  ~ScopedLinearPlan() { cpu::set_linear_plan(saved_); }
  ScopedLinearPlan(const ScopedLinearPlan&) = delete;
  ScopedLinearPlan& operator=(const ScopedLinearPlan&) = delete;

 private:
  cpu::LinearPlan saved_;
};

}  // namespace anatomy::test
