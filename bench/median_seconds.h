// The median wall time of 7 runs of f after 2 warm-up runs (the GEMM benchmarks' timing).
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

template <class F>
double median_seconds(F&& f) {
  std::vector<double> t;
  for (int r = 0; r < 9; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    if (r >= 2) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
