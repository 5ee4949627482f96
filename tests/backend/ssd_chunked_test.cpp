// The chunked SSD form of the Mamba2 scan (kept for matrix hardware) against the recurrence the
// engine runs. The ops themselves (fast paths against references) are tested in tests/ops.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "backend/cpu/kernels.h"
#include "test_util.h"

namespace anatomy::cpu {
namespace {

// A fresh seed per tensor, drawn from the test's own generator.
Tensor random(DType dtype, Shape shape, std::mt19937& rng) { return test::random_tensor(dtype, std::move(shape), rng()); }

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
