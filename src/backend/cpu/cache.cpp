// KV cache writes and time-slices (data movement only).
#include "backend/cpu/kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace anatomy::cpu {

void write_time(Tensor& dst, const Tensor& src, int64_t at) {
  const int64_t B = src.dim(0), T = src.dim(1), Tmax = dst.dim(1);
  const int64_t inner = static_cast<int64_t>(src.numel()) / (B * std::max<int64_t>(T, 1));
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(dst.data<float>() + (b * Tmax + at) * inner, src.data<float>() + b * T * inner,
                static_cast<size_t>(T * inner) * 4);
}

void slice_time(const Tensor& src, int64_t start, Tensor& out) {
  const int64_t B = out.dim(0), T = out.dim(1), Tmax = src.dim(1);
  const int64_t inner = static_cast<int64_t>(out.numel()) / (B * std::max<int64_t>(T, 1));
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(out.data<float>() + b * T * inner, src.data<float>() + (b * Tmax + start) * inner,
                static_cast<size_t>(T * inner) * 4);
}

namespace {

// Adds steps [at, at + T) of the [B, Tmax, …] tensor into the [B, T, …] one (into_window false),
// or the [B, T, …] one into those steps (into_window true): the backward passes of the cache write
// and the time slice, each the other's transpose.
void add_window(const Tensor& window, const Tensor& whole, int64_t at, bool into_window, Tensor& dst) {
  const int64_t B = window.dim(0), T = window.dim(1), Tmax = whole.dim(1);
  const int64_t inner = static_cast<int64_t>(window.numel()) / (B * std::max<int64_t>(T, 1));
  const float* src = (into_window ? whole : window).data<float>();
  float* d = dst.data<float>();
#pragma omp parallel for collapse(2) schedule(static) if (B * T * inner > kParallelElements)
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T * inner; ++i) {
      const int64_t w = b * T * inner + i, h = (b * Tmax + at) * inner + i;
      d[into_window ? w : h] += src[into_window ? h : w];
    }
}

}  // namespace

void write_time_backward(const Tensor& ddst, int64_t at, Tensor& dsrc) { add_window(dsrc, ddst, at, true, dsrc); }

void slice_time_backward(const Tensor& dy, int64_t start, Tensor& dsrc) { add_window(dy, dsrc, start, false, dsrc); }

}  // namespace anatomy::cpu
