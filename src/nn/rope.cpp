#include "nn/rope.h"

#include <cmath>
#include <numbers>

namespace anatomy::nn {

std::vector<double> rope_inv_freq(const RopeSpec& s) {
  std::vector<double> f(static_cast<size_t>(s.dim / 2));
  for (size_t i = 0; i < f.size(); ++i)
    f[i] = std::pow(s.theta, -2.0 * static_cast<double>(i) / static_cast<double>(s.dim));
  if (s.scaling == "linear") {
    for (auto& x : f) x /= s.factor;
  } else if (s.scaling == "llama3") {
    // Wavelengths shorter than L/high_freq_factor keep their frequency, longer than
    // L/low_freq_factor are divided by factor, and the band between is interpolated.
    const double L = static_cast<double>(s.original_max_position_embeddings);
    const double low_wavelen = L / s.low_freq_factor, high_wavelen = L / s.high_freq_factor;
    for (auto& x : f) {
      const double wavelen = 2 * std::numbers::pi / x;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        x /= s.factor;
        continue;
      }
      const double smooth = (L / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
      x = (1 - smooth) * x / s.factor + smooth * x;
    }
  }
  return f;
}

}  // namespace anatomy::nn
