#include "analysis/stats.h"

#include <algorithm>

#include "core/error.h"

namespace anatomy::analysis {

Stats stats_of(std::vector<double> s) {
  ANATOMY_ASSERT(!s.empty());
  std::sort(s.begin(), s.end());
  auto pct = [&](double p) { return s[static_cast<size_t>(p * static_cast<double>(s.size() - 1) + 0.5)]; };
  return {pct(0.5), pct(0.1), pct(0.9), s.front(), s.back()};
}

}  // namespace anatomy::analysis
