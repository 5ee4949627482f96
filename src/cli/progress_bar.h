// The CLI's progress sink: a one-line bar on stderr ("perplexity [####....] 42% 1.9 s, ETA 2 s"),
// redrawn at most ten times a second and erased when the task ends, so stdout stays clean. Silent
// when stderr is not a terminal (logs, tests, pipes).
#pragma once

#include <chrono>
#include <string>

#include "core/progress.h"

namespace anatomy::cli {

class ProgressBar final : public Progress {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  ~ProgressBar() override { end(); }
  void begin(const std::string& task, uint64_t total) override;
  void update(uint64_t done) override;
  void end() override;
  void detail(const std::string& text) override { detail_ = text; }

 private:
  void draw(uint64_t done);
  bool enabled_;
  bool drawn_ = false;
  std::string task_, detail_;
  uint64_t total_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace anatomy::cli
