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

void write_time_backward(const Tensor& ddst, int64_t at, Tensor& dsrc) {
  const int64_t B = dsrc.dim(0), T = dsrc.dim(1), Tmax = ddst.dim(1);
  const int64_t inner = static_cast<int64_t>(dsrc.numel()) / (B * std::max<int64_t>(T, 1));
  const float* g = ddst.data<float>();
  float* d = dsrc.data<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T * inner; ++i) d[b * T * inner + i] += g[(b * Tmax + at) * inner + i];
}

void slice_time_backward(const Tensor& dy, int64_t start, Tensor& dsrc) {
  const int64_t B = dy.dim(0), T = dy.dim(1), Tmax = dsrc.dim(1);
  const int64_t inner = static_cast<int64_t>(dy.numel()) / (B * std::max<int64_t>(T, 1));
  const float* g = dy.data<float>();
  float* d = dsrc.data<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < T * inner; ++i) d[(b * Tmax + start) * inner + i] += g[b * T * inner + i];
}

}  // namespace anatomy::cpu
