// One pass of `anatomy device`'s read probe (backend::stream_read on the engine's threads) over a
// 512 MiB array, far beyond any cache: the benchmarks run one beside each pass of what they time,
// so that both see the same moment of the machine's memory bandwidth.
#pragma once

#include <chrono>
#include <cstdint>

#include "backend/device.h"
#include "core/tensor.h"

class ReadProbe {
 public:
  // GB/s of one pass.
  double gbps() const {
    const auto t0 = std::chrono::steady_clock::now();
    volatile double sink = anatomy::backend::stream_read(a_.data<float>(), static_cast<int64_t>(a_.numel()));
    (void)sink;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(a_.nbytes()) / s / 1e9;
  }

 private:
  // A tensor, so that it sits on the pages weights get (huge pages where offered: HeapStorage).
  anatomy::Tensor a_ = anatomy::Tensor::full({int64_t{128} << 20}, 1.0f);
};
