// Element access shared by the CPU kernels, and the fast-path run counters.
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstring>

#include "core/half.h"

namespace anatomy::cpu {
namespace {
std::atomic<uint64_t> g_fast_runs[kKernels];
}  // namespace

uint64_t fast_runs(Kernel k) { return g_fast_runs[static_cast<int>(k)].load(std::memory_order_relaxed); }
void count_fast(Kernel k) { g_fast_runs[static_cast<int>(k)].fetch_add(1, std::memory_order_relaxed); }

const char* kernel_name(Kernel k) {
  static constexpr const char* kNames[kKernels] = {"embedding", "linear", "rms_norm", "layer_norm", "gated_rms_norm",
                                                   "activation", "binary", "rope", "attention", "causal_conv1d",
                                                   "ssm_scan", "attention_backward",
                                                   "activation_backward", "rms_norm_backward",
                                                   "layer_norm_backward", "cross_entropy",
                                                   "cross_entropy_backward", "linear_group", "gated_linear"};
  return kNames[static_cast<int>(k)];
}

float load(const Tensor& t, uint64_t i) { return element_f32(t, i); }

// Kernels call this once per call on small weights (a norm's scale, a conv's taps), so the
// storage's pointer is taken once: through element_f32 every element paid a storage lookup, ~17 µs
// for a 2048-wide bf16 RMSNorm scale, 0.9–1.4 % of a Llama-3.2-1B decode step (bench/RESULTS.md).
std::vector<float> floats(const Tensor& t) {
  std::vector<float> v(t.numel());
  switch (t.dtype()) {
    case DType::F32: std::memcpy(v.data(), t.raw(), t.nbytes()); break;
    case DType::BF16: std::transform(t.data<uint16_t>(), t.data<uint16_t>() + t.numel(), v.begin(), bf16_to_f32); break;
    case DType::F16: std::transform(t.data<uint16_t>(), t.data<uint16_t>() + t.numel(), v.begin(), f16_to_f32); break;
    default:
      for (uint64_t i = 0; i < t.numel(); ++i) v[i] = element_f32(t, i);
  }
  return v;
}

}  // namespace anatomy::cpu
