// Reference: transformers' generation/logits_process.py (RepetitionPenaltyLogitsProcessor,
// TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper, MinPLogitsWarper).
#include "inference/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace anatomy::inference {

std::vector<std::pair<int64_t, double>> Sampler::candidates(std::span<const float> logits, std::span<const int64_t> history) const {
  std::vector<double> z(logits.begin(), logits.end());
  if (o_.repetition_penalty != 1.0) {
    std::vector<bool> seen(z.size(), false);
    for (const int64_t id : history)
      if (id >= 0 && static_cast<size_t>(id) < z.size() && !seen[id]) {
        seen[id] = true;
        z[id] = z[id] > 0 ? z[id] / o_.repetition_penalty : z[id] * o_.repetition_penalty;
      }
  }
  if (o_.temperature == 0) {
    const auto best = std::max_element(z.begin(), z.end()) - z.begin();
    return {{best, 1.0}};
  }
  for (double& v : z) v /= o_.temperature;
  std::vector<int64_t> order(z.size());
  std::iota(order.begin(), order.end(), 0);
  // Most probable first; ties by lower id, so the result does not depend on the sort.
  const auto before = [&](int64_t a, int64_t b) { return z[a] != z[b] ? z[a] > z[b] : a < b; };
  size_t keep = z.size();
  if (o_.top_k > 0 && static_cast<size_t>(o_.top_k) < keep) {
    keep = static_cast<size_t>(o_.top_k);
    std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(keep), order.end(), before);
  } else {
    std::sort(order.begin(), order.end(), before);
  }
  order.resize(keep);
  const double top = z[order[0]];
  std::vector<double> p(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp(z[order[i]] - top);
  for (double& v : p) v /= sum;
  // top-p: the smallest prefix whose mass reaches top_p (at least one token).
  if (o_.top_p < 1.0) {
    double mass = 0;
    size_t n = 0;
    while (n < keep && mass < o_.top_p) mass += p[n++];
    keep = std::max<size_t>(1, n);
  }
  // min-p: tokens at least min_p times as probable as the most probable one.
  if (o_.min_p > 0) {
    size_t n = 0;
    while (n < keep && p[n] >= o_.min_p * p[0]) ++n;
    keep = std::max<size_t>(1, n);
  }
  std::vector<std::pair<int64_t, double>> out;
  double kept = 0;
  for (size_t i = 0; i < keep; ++i) kept += p[i];
  for (size_t i = 0; i < keep; ++i) out.push_back({order[i], p[i] / kept});
  return out;
}

int64_t Sampler::sample(std::span<const float> logits, std::span<const int64_t> history) {
  const auto c = candidates(logits, history);
  if (c.size() == 1) return c[0].first;
  // A uniform draw in [0, 1) from 53 random bits: the same on every platform, unlike
  // std::uniform_real_distribution whose algorithm the standard leaves open.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  double acc = 0;
  for (const auto& [id, p] : c) {
    acc += p;
    if (u < acc) return id;
  }
  return c.back().first;
}

}  // namespace anatomy::inference
