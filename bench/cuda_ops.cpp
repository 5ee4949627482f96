// GPU time of single ops at the shapes of two passes that miss their targets (issue 14): a
// Nemotron-H-9B Mamba mixer at T = 61 and a Llama-3.2-3B decode step — each op queued 50 times
// between two events, after warm-up (the GPU's own time; no host in the way at that depth).
// usage: bench_cuda_ops
#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <string>

#include "backend/backend.h"
#include "models/checkpoint.h"
#include "ops/ops.h"

using namespace anatomy;

namespace {

Tensor random(const backend::Backend& gpu, DType dtype, Shape shape, uint32_t seed, float lo = -0.5f, float hi = 0.5f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  Tensor t = Tensor::empty(DType::F32, std::move(shape));
  std::generate(t.data<float>(), t.data<float>() + t.numel(), [&] { return u(rng); });
  return gpu.upload(dtype == DType::F32 ? t : models::converted(t, dtype));
}

void time_op(const backend::Backend& gpu, const std::string& name, double bytes, const std::function<void()>& op) {
  for (int i = 0; i < 5; ++i) op();
  auto tl = gpu.timeline();
  const size_t a = tl->stamp();
  constexpr int kReps = 50;
  for (int i = 0; i < kReps; ++i) op();
  const size_t b = tl->stamp();
  gpu.synchronize();
  const double us = tl->seconds(a, b) / kReps * 1e6;
  std::printf("  %-44s %9.2f us  %8.1f GB/s\n", name.c_str(), us, bytes / (us * 1e-6) / 1e9);
}

}  // namespace

int main() {
  const auto gpu_ptr = backend::cuda();
  const backend::Backend& gpu = *gpu_ptr;
  const ops::Context c(gpu_ptr);
  {
    std::printf("Nemotron-H 9B Mamba mixer, T = 61 (H 128, P 80, N 128, G 8, hidden 4480):\n");
    const int64_t T = 61, H = 128, P = 80, N = 128, G = 8, D = H * P, hidden = 4480, conv = D + 2 * G * N, width = 2 * D + 2 * G * N + H;
    const Tensor u = random(gpu, DType::F32, {1, T, hidden}, 1), w_in = random(gpu, DType::BF16, {width, hidden}, 2, -0.02f, 0.02f),
                 w_out = random(gpu, DType::BF16, {hidden, D}, 3, -0.02f, 0.02f), zx = random(gpu, DType::F32, {1, T, width}, 4),
                 cw = random(gpu, DType::BF16, {conv, 1, 4}, 5), xbc = random(gpu, DType::F32, {1, T, conv}, 6),
                 x = random(gpu, DType::F32, {1, T, H, P}, 7), dt = random(gpu, DType::F32, {1, T, H}, 8, 0.01f, 0.2f),
                 A = random(gpu, DType::F32, {H}, 9, -2.0f, -0.5f), Bm = random(gpu, DType::F32, {1, T, G, N}, 10),
                 Cm = random(gpu, DType::F32, {1, T, G, N}, 11), Dp = random(gpu, DType::F32, {H}, 12),
                 y = random(gpu, DType::F32, {1, T, D}, 13), nw = random(gpu, DType::BF16, {D}, 14);
    Tensor state = gpu.zeros(DType::F32, {1, H, P, N}), conv_state = gpu.zeros(DType::F32, {1, conv, 3});
    const double f = 4;
    time_op(gpu, "in_proj linear (bf16, M 61)", 2.0 * width * hidden + f * T * (hidden + width), [&] { ops::linear(c, u, w_in, nullptr); });
    time_op(gpu, "slice_last z", f * 2 * T * D, [&] { ops::slice_last(c, zx, 0, D); });
    time_op(gpu, "slice_last xBC", f * 2 * T * conv, [&] { ops::slice_last(c, zx, D, conv); });
    time_op(gpu, "causal_conv1d", f * 2 * T * conv, [&] { ops::causal_conv1d(c, xbc, cw, nullptr, conv_state); });
    time_op(gpu, "activation silu", f * 2 * T * conv, [&] { ops::activation(c, xbc, Activation::silu); });
    time_op(gpu, "softplus(dt)", f * 2 * T * H, [&] { ops::activation(c, dt, Activation::softplus); });
    time_op(gpu, "ssm_scan", f * (T * (D * 2 + 2 * G * N + H) + 2.0 * H * P * N), [&] { ops::ssm_scan(c, x, dt, A, Bm, Cm, Dp, state); });
    time_op(gpu, "gated_rms_norm", f * 3 * T * D, [&] { ops::gated_rms_norm(c, y, y, nw, G, 1e-5); });
    time_op(gpu, "out_proj linear (bf16, M 61)", 2.0 * hidden * D + f * T * (hidden + D), [&] { ops::linear(c, y, w_out, nullptr); });
  }
  {
    std::printf("Llama-3.2-3B decode step (hidden 3072, 24 heads of 128, 8 KV heads, MLP 8192, vocab 128256):\n");
    const int64_t hd = 3072, inter = 8192, kv = 1024, V = 128256;
    const Tensor x = random(gpu, DType::F32, {1, 1, hd}, 1), xi = random(gpu, DType::F32, {1, 1, inter}, 2),
                 wq = random(gpu, DType::BF16, {hd, hd}, 3, -0.02f, 0.02f), wk = random(gpu, DType::BF16, {kv, hd}, 4, -0.02f, 0.02f),
                 wg = random(gpu, DType::BF16, {inter, hd}, 5, -0.02f, 0.02f), wd = random(gpu, DType::BF16, {hd, inter}, 6, -0.02f, 0.02f),
                 wl = random(gpu, DType::BF16, {V, hd}, 7, -0.02f, 0.02f), nw = random(gpu, DType::BF16, {hd}, 8);
    const Tensor q = random(gpu, DType::F32, {1, 1, 24, 128}, 9), kc = random(gpu, DType::F32, {1, 80, 8, 128}, 10),
                 vc = random(gpu, DType::F32, {1, 80, 8, 128}, 11);
    time_op(gpu, "q_proj / o_proj GEMV 3072x3072", 2.0 * hd * hd, [&] { ops::linear(c, x, wq, nullptr); });
    time_op(gpu, "k_proj GEMV 1024x3072", 2.0 * kv * hd, [&] { ops::linear(c, x, wk, nullptr); });
    time_op(gpu, "gate/up GEMV 8192x3072", 2.0 * inter * hd, [&] { ops::linear(c, x, wg, nullptr); });
    time_op(gpu, "down GEMV 3072x8192", 2.0 * inter * hd, [&] { ops::linear(c, xi, wd, nullptr); });
    time_op(gpu, "lm_head GEMV 128256x3072", 2.0 * V * hd, [&] { ops::linear(c, x, wl, nullptr); });
    time_op(gpu, "rms_norm", 4.0 * 2 * hd, [&] { ops::rms_norm(c, x, nw, 1e-5); });
    time_op(gpu, "add", 4.0 * 3 * hd, [&] { ops::add(c, x, x); });
    time_op(gpu, "rope (24 heads)", 4.0 * 2 * 24 * 128, [&] { ops::rope(c, q, std::vector<float>(64, 0.01f), 40); });
    time_op(gpu, "attention, 41 keys", 4.0 * 2 * 41 * 8 * 128, [&] {
      ops::attention(c, q, kc, vc, ops::AttentionOptions{.scale = 0.088f, .past = 40, .keys = 41});
    });
  }
  return 0;
}
