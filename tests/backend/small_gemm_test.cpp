// gemm_f32 below kSmallGemmWork multiply-adds runs its own AVX2 kernel instead of oneDNN: against a
// plain triple loop in double on strided and transposed operands (the views attention's backward
// pass gives it), every row and column tail, with and without accumulation.
#include <gtest/gtest.h>

#include <vector>

#include "backend/cpu/gemm.h"
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

}  // namespace
}  // namespace anatomy::cpu
