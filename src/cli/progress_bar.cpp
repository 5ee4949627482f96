#include "cli/progress_bar.h"

#include <cstdio>

#include <fmt/format.h>

namespace anatomy::cli {

void ProgressBar::begin(const std::string& task, uint64_t total) {
  task_ = task;
  detail_.clear();
  total_ = total;
  start_ = last_ = std::chrono::steady_clock::now();
  if (enabled_) draw(0);
}

void ProgressBar::update(uint64_t done) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(100) && done < total_) return;
  last_ = now;
  draw(done);
}

void ProgressBar::draw(uint64_t done) {
  constexpr int kWidth = 30;
  const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total_)) : 0.0;
  const int filled = static_cast<int>(frac * kWidth);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::string bar = std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(kWidth - filled), '.');
  // The time left, extrapolated from the rate so far, once there is a rate.
  const std::string eta = done > 0 && done < total_
                              ? fmt::format(", ETA {:.0f} s", secs * static_cast<double>(total_ - done) / static_cast<double>(done))
                              : "";
  const std::string line = total_ > 0 ? fmt::format("\r{} [{}] {:3.0f}% {}{:.1f} s{}", task_, bar, 100 * frac,
                                                    detail_.empty() ? "" : detail_ + ", ", secs, eta)
                                      : fmt::format("\r{} … {:.1f} s", task_, secs);
  std::fputs(line.c_str(), stderr);
  std::fputs("\x1b[K", stderr);  // erase what a longer previous line left
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::end() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace anatomy::cli
