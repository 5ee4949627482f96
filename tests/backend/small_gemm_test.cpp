// gemm_f32 below kSmallGemmWork multiply-adds runs its own AVX2 kernel instead of oneDNN: against a
// plain triple loop in double on strided and transposed operands (the views attention's backward
// pass gives it), every row and column tail, with and without accumulation. And oneDNN's GEMMs
// called from several threads at once (training's data-parallel workers) each give the caller's
// own result.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <vector>

#include "backend/cpu/gemm.h"
#include "backend/cpu/kernels.h"
#include "test_util.h"

namespace anatomy::cpu {
namespace {

TEST(SmallGemm, StridedOperandsMatchATripleLoop) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "no AVX2: oneDNN runs every size";
  for (const auto& [M, N, K] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {32, 32, 16}, {32, 16, 32}, {16, 32, 32}, {5, 19, 7}, {1, 1, 1}, {3, 40, 9}, {64, 64, 64}})
    for (bool a_transposed : {false, true})
      for (bool b_transposed : {false, true})
        for (bool accumulate : {false, true}) {
          const Tensor a = test::random_tensor(DType::F32, {M * K}, 1), b = test::random_tensor(DType::F32, {K * N}, 2);
          const int64_t ldc = N + 3;  // C rows apart, as attention writes a head's slice of a wider row
          Tensor c = test::random_tensor(DType::F32, {M * ldc}, 3);
          std::vector<double> want(static_cast<size_t>(M * ldc));
          const float *A = a.data<float>(), *B = b.data<float>();
          float* C = c.data<float>();
          const Operand ao{A, a_transposed ? 1 : K, a_transposed ? M : 1}, bo{B, b_transposed ? 1 : N, b_transposed ? K : 1};
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < N; ++n) {
              double s = accumulate ? C[m * ldc + n] : 0.0;
              for (int64_t k = 0; k < K; ++k)
                s += static_cast<double>(A[m * ao.row_stride + k * ao.col_stride]) * B[k * bo.row_stride + n * bo.col_stride];
              want[static_cast<size_t>(m * ldc + n)] = s;
            }
          const std::vector<float> before(C, C + M * ldc);
          const uint64_t runs = small_gemm_runs();
          gemm_f32(ao, bo, C, M, N, K, accumulate, ldc);
          EXPECT_EQ(small_gemm_runs(), runs + 1) << "the small-GEMM kernel did not run";
          for (int64_t m = 0; m < M; ++m)
            for (int64_t n = 0; n < ldc; ++n) {
              const size_t i = static_cast<size_t>(m * ldc + n);
              if (n >= N) ASSERT_EQ(C[i], before[i]) << "wrote past N at row " << m;  // the gap between rows
              else ASSERT_NEAR(C[i], want[i], 1e-5 * (1 + std::abs(want[i]))) << M << "x" << N << "x" << K << " at " << m << "," << n;
            }
        }
}

// Each thread's GEMMs on inputs of its own, through the paths a training step takes on oneDNN: the
// linear forward on a weight that may change and the strided GEMMs of the backward pass (with and
// without accumulation). oneDNN's library scratchpad is shared by the primitives a thread creates:
// executed from two threads at once they wrote into each other's (anatomy now gives each
// primitive a user scratchpad per executing thread).
std::vector<Tensor> gemms_of(int thread) {
  constexpr int64_t M = 192, N = 160, K = 128;
  const auto seed = static_cast<uint32_t>(10 * thread);
  const Tensor x = test::random_tensor(DType::F32, {M, K}, seed + 1), w = test::random_tensor(DType::F32, {N, K}, seed + 2);
  Tensor y = Tensor::empty(DType::F32, {M, N});
  linear(x, w, nullptr, false, y);
  Tensor dx = test::random_tensor(DType::F32, {M, K}, seed + 3), dw = Tensor::zeros(DType::F32, {N, K});
  gemm_f32({y.data<float>(), N, 1}, {w.data<float>(), K, 1}, dx.data<float>(), M, K, N, true);  // dx += y·w
  gemm_f32({y.data<float>(), 1, N}, {x.data<float>(), K, 1}, dw.data<float>(), N, K, M, false);  // dw = yᵀ·x
  return {y, dx, dw};
}

TEST(OneDnnGemms, ConcurrentCallersEachGetTheirOwnResult) {
  constexpr int kThreads = 2;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);  // the workers' own setting: one thread per GEMM
  std::vector<std::vector<Tensor>> want;
  for (int t = 0; t < kThreads; ++t) want.push_back(gemms_of(t));
  omp_set_num_threads(saved);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::vector<Tensor>> got(kThreads);
    int team = 0;
#pragma omp parallel num_threads(kThreads)
    {
      omp_set_num_threads(1);
#pragma omp single
      team = omp_get_num_threads();
      got[static_cast<size_t>(omp_get_thread_num())] = gemms_of(omp_get_thread_num());
    }
    ASSERT_EQ(team, kThreads) << "the calls did not run side by side";
    for (int t = 0; t < kThreads; ++t)
      for (size_t i = 0; i < want[0].size(); ++i)
        ASSERT_EQ(std::memcmp(got[t][i].raw(), want[t][i].raw(), want[t][i].nbytes()), 0)
            << "round " << round << ", thread " << t << ", result " << i;
  }
}

}  // namespace
}  // namespace anatomy::cpu
