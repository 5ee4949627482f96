// Benchmark: the three GEMMs of one training linear layer, each on its own, at the shapes training
// runs them (weights not frozen, as a trained model's are): the forward y = x·Wᵀ, the input's
// gradient dx = dy·W and the weight's gradient dW = dyᵀ·x (GPT-2's Conv1D, W stored [K, N]: y = x·W,
// dx = dy·Wᵀ, dW = xᵀ·dy). Median of 7 after 2 warm-ups; GFLOP/s = 2·M·N·K / time.
//   bench_linear_backward [N] [K] [M] [threads] [linear|conv1d]
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "backend/device.h"
#include "median_seconds.h"

using namespace anatomy;

namespace {

Tensor random_tensor(std::vector<int64_t> shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor t = Tensor::empty(DType::F32, std::move(shape));
  for (uint64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t N = argc > 1 ? std::atoll(argv[1]) : 3072, K = argc > 2 ? std::atoll(argv[2]) : 768;
  const int64_t M = argc > 3 ? std::atoll(argv[3]) : 1024;
  const bool conv1d = argc > 5 && std::string(argv[5]) == "conv1d";
  if (N < 1 || K < 1 || M < 2) {
    std::fprintf(stderr, "bench_linear_backward: N, K ≥ 1 and M ≥ 2 expected\n");
    return 2;
  }
  backend::apply_isa_cap();
  backend::set_threads(argc > 4 ? std::atoi(argv[4]) : 2);
  std::mt19937 rng(1);
  const Tensor x = random_tensor({M, K}, rng), dy = random_tensor({M, N}, rng);
  const Tensor w = conv1d ? random_tensor({K, N}, rng) : random_tensor({N, K}, rng);
  Tensor y = Tensor::empty(DType::F32, {M, N}), dx = Tensor::empty(DType::F32, {M, K});
  Tensor dw = Tensor::empty(DType::F32, w.shape());
  const double flops = 2.0 * static_cast<double>(M * N * K);
  const auto rate = [&](auto&& f) { return flops / median_seconds(f) / 1e9; };
  const double fwd = rate([&] { cpu::linear(x, w, nullptr, conv1d, y); });
  const double bdx = rate([&] { cpu::linear_backward(x, w, dy, conv1d, &dx, nullptr, nullptr); });
  const double bdw = rate([&] { cpu::linear_backward(x, w, dy, conv1d, nullptr, &dw, nullptr); });
  std::printf("| %s W %s, M = %lld | forward %.1f | dx %.1f | dW %.1f | GFLOP/s |\n", conv1d ? "Conv1D" : "Linear",
              conv1d ? (std::to_string(K) + " × " + std::to_string(N)).c_str()
                     : (std::to_string(N) + " × " + std::to_string(K)).c_str(),
              static_cast<long long>(M), fwd, bdx, bdw);
  return 0;
}
