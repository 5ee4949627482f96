// The fast linear path (AVX2 small-M kernel, oneDNN, half-precision blocks) against the scalar
// reference on random shapes with tails, for every weight dtype.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "backend/cpu/gemm.h"
#include "backend/cpu/kernels.h"
#include "core/half.h"

namespace anatomy::cpu {
namespace {

Tensor random(DType dtype, Shape shape, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor t = Tensor::empty(dtype, std::move(shape));
  for (uint64_t i = 0; i < t.numel(); ++i) {
    const float v = u(rng);
    if (dtype == DType::F32) t.data<float>()[i] = v;
    else t.data<uint16_t>()[i] = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  return t;
}

TEST(Gemm, MatchesReference) {
  std::mt19937 rng(5);
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int64_t M : {1, 2, 3, 5, 8, 9, 17, 64})
      for (auto [N, K] : {std::pair<int64_t, int64_t>{7, 13}, {33, 64}, {300, 129}}) {
        const Tensor x = random(DType::F32, {1, M, K}, rng), w = random(dt, {N, K}, rng), b = random(DType::F32, {N}, rng);
        Tensor fast = Tensor::zeros(DType::F32, {1, M, N}), ref = Tensor::zeros(DType::F32, {1, M, N});
        ASSERT_TRUE(linear_fast(x, w, &b, false, fast));
        linear_reference(x, w, &b, false, ref);
        for (uint64_t i = 0; i < ref.numel(); ++i)
          ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], 1e-4 * std::sqrt(static_cast<double>(K)))
              << dtype_name(dt) << " M=" << M << " N=" << N << " K=" << K << " at " << i;
      }
}

TEST(Gemm, Conv1DLayout) {
  std::mt19937 rng(6);
  const Tensor x = random(DType::F32, {2, 5, 24}, rng), w = random(DType::F32, {24, 40}, rng);
  Tensor fast = Tensor::zeros(DType::F32, {2, 5, 40}), ref = Tensor::zeros(DType::F32, {2, 5, 40});
  ASSERT_TRUE(linear_fast(x, w, nullptr, true, fast));
  linear_reference(x, w, nullptr, true, ref);
  for (uint64_t i = 0; i < ref.numel(); ++i) ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], 1e-4);
}

}  // namespace
}  // namespace anatomy::cpu

namespace anatomy::cpu {
namespace {

TEST(Attention, FastMatchesReference) {
  if (!have_avx2()) GTEST_SKIP() << "the fast kernels need AVX2";
  std::mt19937 rng(7);
  for (bool causal : {true, false})
    for (auto [T, Tk, past] : {std::tuple<int64_t, int64_t, int64_t>{5, 5, 0}, {1, 9, 8}, {3, 12, 9}, {7, 4, 0}}) {
      if (causal && past + T > Tk) continue;
      const Tensor q = random(DType::F32, {2, T, 6, 20}, rng), k = random(DType::F32, {2, Tk, 3, 20}, rng),
                   v = random(DType::F32, {2, Tk, 3, 20}, rng);
      Tensor pad = Tensor::zeros(DType::F32, {2, Tk});
      for (int64_t j = 0; j < 2 * Tk; ++j) pad.data<float>()[j] = j % Tk % 4 == 1 ? 0.0f : 1.0f;  // key 0 always kept
      for (float masked : {-INFINITY, -10000.0f})
        for (const Tensor* kp : {static_cast<const Tensor*>(nullptr), static_cast<const Tensor*>(&pad)}) {
          Tensor fast = Tensor::zeros(DType::F32, {2, T, 120}), ref = Tensor::zeros(DType::F32, {2, T, 120});
          ASSERT_TRUE(attention_fast(q, k, v, 0.3f, causal, past, masked, kp, nullptr, fast));
          attention_reference(q, k, v, 0.3f, causal, past, masked, kp, nullptr, ref);
          for (uint64_t i = 0; i < ref.numel(); ++i) ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], 1e-5);
        }
    }
}

}  // namespace
}  // namespace anatomy::cpu

namespace anatomy::cpu {
namespace {

TEST(Ssm, FastMatchesReference) {
  if (!have_avx2()) GTEST_SKIP() << "the fast kernels need AVX2";
  std::mt19937 rng(8);
  const int64_t B = 2, T = 5, H = 4, P = 6, G = 2, N = 16;
  const Tensor x = random(DType::F32, {B, T, H, P}, rng), Bm = random(DType::F32, {B, T, G, N}, rng),
               Cm = random(DType::F32, {B, T, G, N}, rng), D = random(DType::F32, {H}, rng);
  Tensor dt = random(DType::F32, {B, T, H}, rng), A = random(DType::F32, {H}, rng);
  for (uint64_t i = 0; i < dt.numel(); ++i) dt.data<float>()[i] = std::abs(dt.data<float>()[i]);
  for (uint64_t i = 0; i < A.numel(); ++i) A.data<float>()[i] = -std::abs(A.data<float>()[i]) - 0.1f;
  Tensor s1 = random(DType::F32, {B, H, P, N}, rng);
  Tensor s2 = Tensor::empty(DType::F32, s1.shape());
  std::memcpy(s2.raw(), s1.raw(), s1.nbytes());
  Tensor fast = Tensor::zeros(DType::F32, x.shape()), ref = Tensor::zeros(DType::F32, x.shape());
  ASSERT_TRUE(ssm_scan_fast(x, dt, A, Bm, Cm, D, s1, fast));
  ssm_scan_reference(x, dt, A, Bm, Cm, D, s2, ref);
  for (uint64_t i = 0; i < ref.numel(); ++i) ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], 1e-5);
  for (uint64_t i = 0; i < s1.numel(); ++i) ASSERT_NEAR(s1.data<float>()[i], s2.data<float>()[i], 1e-5);
}

TEST(Conv1d, FastMatchesReference) {
  if (!have_avx2()) GTEST_SKIP() << "the fast kernels need AVX2";
  std::mt19937 rng(9);
  const Tensor x = random(DType::F32, {2, 7, 10}, rng), w = random(DType::BF16, {10, 1, 4}, rng),
               b = random(DType::F32, {10}, rng);
  Tensor s1 = random(DType::F32, {2, 10, 3}, rng), s2 = Tensor::empty(DType::F32, {2, 10, 3});
  std::memcpy(s2.raw(), s1.raw(), s1.nbytes());
  Tensor fast = Tensor::zeros(DType::F32, x.shape()), ref = Tensor::zeros(DType::F32, x.shape());
  ASSERT_TRUE(causal_conv1d_fast(x, w, &b, s1, fast));
  causal_conv1d_reference(x, w, &b, s2, ref);
  for (uint64_t i = 0; i < ref.numel(); ++i) ASSERT_NEAR(fast.data<float>()[i], ref.data<float>()[i], 1e-5);
  for (uint64_t i = 0; i < s1.numel(); ++i) ASSERT_EQ(s1.data<float>()[i], s2.data<float>()[i]);
}

}  // namespace
}  // namespace anatomy::cpu

namespace anatomy::cpu {
namespace {

void expect_close(const Tensor& a, const Tensor& b, double tol, const char* what) {
  for (uint64_t i = 0; i < a.numel(); ++i) {
    ASSERT_TRUE(std::isfinite(a.data<float>()[i])) << what;
    ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], tol * (1 + std::abs(b.data<float>()[i]))) << what << " at " << i;
  }
}

TEST(Elementwise, FastMatchesReference) {
  if (!have_avx2()) GTEST_SKIP() << "the fast kernels need AVX2";
  std::mt19937 rng(10);
  for (int64_t d : {8, 64, 72, 200}) {
    Tensor x = random(DType::F32, {3, 5, d}, rng), w = random(DType::BF16, {d}, rng);
    for (uint64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] *= 12;  // exercise exp's range
    Tensor fast = Tensor::zeros(DType::F32, x.shape()), ref = Tensor::zeros(DType::F32, x.shape());
    if (rms_norm_fast(x, floats(w), 1e-5f, fast)) {
      rms_norm_reference(x, w, 1e-5f, ref);
      expect_close(fast, ref, 1e-5, "rms_norm");
    }
    for (int act : {0, 1, 2, 3, 4})
      if (activation_fast(x, act, fast)) {
        activation_reference(x, act, ref);
        expect_close(fast, ref, 3e-6, "activation");
      }
    const Tensor b = random(DType::F32, {d}, rng), z = random(DType::F32, x.shape(), rng);
    if (layer_norm_fast(x, floats(w), floats(b), 1e-5f, fast)) {
      layer_norm_reference(x, w, &b, 1e-5f, ref);
      expect_close(fast, ref, 1e-5, "layer_norm");
    }
    if (gated_rms_norm_fast(x, z, floats(w), 2, 1e-5f, fast)) {
      gated_rms_norm_reference(x, z, w, 2, 1e-5f, ref);
      expect_close(fast, ref, 1e-5, "gated_rms_norm");
    }
    for (int op : {0, 1})
      if (binary_fast(x, floats(w), op, fast)) {
        binary_reference(x, w, op, ref);
        expect_close(fast, ref, 1e-6, "binary");
      }
  }
  for (DType dt : {DType::BF16, DType::F16}) {
    const Tensor table = random(dt, {50, 40}, rng);
    Tensor ids = Tensor::empty(DType::I64, {2, 3});
    for (int64_t i = 0; i < 6; ++i) ids.data<int64_t>()[i] = (i * 17) % 50;
    Tensor fast = Tensor::zeros(DType::F32, {2, 3, 40}), ref = Tensor::zeros(DType::F32, {2, 3, 40});
    ASSERT_TRUE(embedding_fast(table, ids, fast));
    embedding_reference(table, ids, ref);
    expect_close(fast, ref, 0, "embedding");
  }
  const Tensor q = random(DType::F32, {2, 3, 4, 32}, rng);
  std::vector<float> inv(16);
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = std::pow(10000.0f, -2.0f * static_cast<float>(i) / 32);
  Tensor fast = Tensor::zeros(DType::F32, q.shape()), ref = Tensor::zeros(DType::F32, q.shape());
  ASSERT_TRUE(rope_fast(q, inv, 7, fast));
  rope_reference(q, inv, 7, ref);
  expect_close(fast, ref, 1e-6, "rope");
}

}  // namespace
}  // namespace anatomy::cpu

namespace anatomy::cpu {
namespace {

TEST(Ssm, ChunkedMatchesRecurrence) {
  std::mt19937 rng(11);
  const int64_t B = 2, T = 23, H = 4, P = 6, G = 2, N = 8;
  const Tensor x = random(DType::F32, {B, T, H, P}, rng), Bm = random(DType::F32, {B, T, G, N}, rng),
               Cm = random(DType::F32, {B, T, G, N}, rng), D = random(DType::F32, {H}, rng);
  Tensor dt = random(DType::F32, {B, T, H}, rng), A = random(DType::F32, {H}, rng);
  for (uint64_t i = 0; i < dt.numel(); ++i) dt.data<float>()[i] = 0.5f * std::abs(dt.data<float>()[i]);
  for (uint64_t i = 0; i < A.numel(); ++i) A.data<float>()[i] = -std::abs(A.data<float>()[i]) - 0.1f;
  for (int64_t chunk : {1, 4, 8, 64}) {
    Tensor s1 = random(DType::F32, {B, H, P, N}, rng), s2 = Tensor::empty(DType::F32, {B, H, P, N});
    std::memcpy(s2.raw(), s1.raw(), s1.nbytes());
    Tensor chunked = Tensor::zeros(DType::F32, x.shape()), ref = Tensor::zeros(DType::F32, x.shape());
    ssm_scan_chunked(x, dt, A, Bm, Cm, D, s1, chunked, chunk);
    ssm_scan_reference(x, dt, A, Bm, Cm, D, s2, ref);
    for (uint64_t i = 0; i < ref.numel(); ++i) ASSERT_NEAR(chunked.data<float>()[i], ref.data<float>()[i], 2e-5) << chunk;
    for (uint64_t i = 0; i < s1.numel(); ++i) ASSERT_NEAR(s1.data<float>()[i], s2.data<float>()[i], 2e-5) << chunk;
  }
}

}  // namespace
}  // namespace anatomy::cpu
