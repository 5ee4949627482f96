// The fast path of ops::linear: y[M, N] = x[M, K]·Wᵀ (+ b), weights kept in their stored dtype.
// Chosen by measurement (bench/RESULTS.md, bench_gemm_sweep):
//  - M = 1 (decode): a GEMV streaming the weights once (AVX2, or AVX-512 where present), reading
//    BF16/F16 directly — 2× oneDNN and 3× OpenBLAS for f32 at M = 1;
//  - f32, M ≥ 2: oneDNN's matmul on the stored [N, K] layout (ahead of OpenBLAS at every M);
//  - bf16/f16, 2 ≤ M ≤ kSmallM: a register-blocked kernel widening the weights in registers;
//  - bf16/f16, larger M: the weight widened to f32 once and kept (while half the available memory
//    allows), then oneDNN; over that budget, blocks widened into a scratch per call (oneDNN 2.6
//    has no half matmul on AVX2).
#pragma once

#include "core/tensor.h"

namespace anatomy::cpu {

constexpr int64_t kSmallM = 64;
// From this M on, half-precision weights run through their f32 copy (when the budget allows).
constexpr int64_t kWidenFromM = 16;

// false when the fast path does not handle this case (the caller uses the reference kernel).
bool linear_fast(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out);

// C[M, N] (+)= A[M, K]·B[K, N] in f32 through oneDNN, each operand given by its element strides
// (row, column), so transposed operands are views; C's rows are ldc apart (0: N). Used by the
// backward passes of linear and attention and by attention over long sequences. Safe to call from
// several threads at once (inside an OpenMP region oneDNN runs it on the calling thread).
// Up to kSmallGemmWork multiply-adds (M·N·K) it runs an AVX2 kernel of its own instead: a oneDNN
// call costs microseconds of set-up, more than such a GEMM's arithmetic (training attention's
// per-head GEMMs at 32 × 32 × 16 are thousands of calls per step).
constexpr int64_t kSmallGemmWork = 64 * 64 * 64;
struct Operand {
  const float* data;
  int64_t row_stride, col_stride;
};
void gemm_f32(Operand a, Operand b, float* c, int64_t M, int64_t N, int64_t K, bool accumulate, int64_t ldc = 0);
// Calls gemm_f32 sent to its own small-GEMM kernel so far (tests assert which path ran).
uint64_t small_gemm_runs();

// Bytes of f32 copies of half-precision weights kept for prefill.
uint64_t widened_weight_bytes();


}  // namespace anatomy::cpu
