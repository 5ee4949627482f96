// The fast path of ops::linear: y[M, N] = x[M, K]·Wᵀ (+ b), weights kept in their stored dtype.
// Chosen by measurement on the 2-core AVX2 machine (bench/RESULTS.md):
//  - M ≤ 8 (f32) or M ≤ kSmallM (bf16/f16): an AVX2 kernel that streams each weight row once
//    and dots it with all M inputs, reading BF16/F16 directly (shift/convert in registers);
//  - larger M: oneDNN's f32 matmul on the stored [N, K] layout; BF16/F16 weights are converted
//    block by block into a small f32 scratch (oneDNN 2.6 has no half matmul on AVX2).
#pragma once

#include "core/tensor.h"

namespace anatomy::cpu {

constexpr int64_t kSmallM = 64;

// false when the fast path does not handle this case (the caller uses the reference kernel).
bool linear_fast(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out);

bool have_avx2();
void set_threads(int threads);  // OpenMP threads for our kernels and oneDNN (same runtime)
int threads();

}  // namespace anatomy::cpu
