// Summary statistics of repeated timings: nearest-rank percentiles, so that with few repeats
// every figure is a time that was actually observed.
#pragma once

#include <vector>

namespace anatomy::analysis {

struct Stats {
  double median = 0, p10 = 0, p90 = 0, min = 0, max = 0;  // seconds
};
Stats stats_of(std::vector<double> seconds);

}  // namespace anatomy::analysis
