// Entry points of the ISA-specific GEMM kernels (gemm_avx2.cpp, gemm_packed_avx2.cpp), compiled with
// their instruction-set flags; gemm.cpp calls them only after checking the CPU at run time.
#pragma once

#include <omp.h>

#include <atomic>
#include <vector>

#include "core/kinds.h"
#include "core/tensor.h"

namespace anatomy::cpu {

bool have_avx512();
// $ANATOMY_CPU_ISA caps the kernels' dispatch: avx512 (default: the best the CPU has), avx2, scalar.
enum class IsaCap { avx512, avx2, scalar, invalid };
IsaCap isa_cap();
// Decode's M = 1: out = x·Wᵀ for each weight [N, K] (all of one dtype) in one parallel region,
// reading the stored rows or, for half-precision weights, their panel form (all outputs or none).
// The panel form, packed once per weight: panels of kGemvPanel output columns × K, each k's
// columns stored 16 at a time (bf16: a 32-bit lane holds column j and j + 8, so that shift and
// mask widen them in order; f16: in order), columns zero-padded to a whole panel. A thread reads
// its share of the panels as one sequential stream (read_panels), x broadcast per k; 64 columns
// (128 bytes a k) read 95–100 % of the read probe where 16 columns read 76–89 % in the host's fast
// phases (bench_gemv_forms, bench/RESULTS.md).
constexpr int64_t kGemvPanel = 64;
// Decode's panels [0, n) read in one parallel region: each thread first an equal share of the first
// 7/8, in order (one stream: a weight's panels lie one after another), then the threads take the
// rest a panel at a time, so that one slowed or started late does not hold the others at the
// region's end (bench/RESULTS.md, stop 32: whole decode steps in the host's fast phases ~91.6 →
// ~95.5 % of the probe; every panel handed out dynamically read less, stop 31). The shared tail
// follows the last thread's share, so that thread reads on in order.
template <class Read>
void read_panels(int64_t n, Read read) {
  std::atomic<int64_t> taken{0};
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num(), share = n * 7 / 8 / threads;
    for (int64_t i = t * share; i < (t + 1) * share; ++i) read(i);
    for (int64_t i; (i = threads * share + taken.fetch_add(1, std::memory_order_relaxed)) < n;) read(i);
  }
}
int64_t gemv_panel_elements(int64_t N, int64_t K);
// BF16 / F16 [N, K] (in_out: [K, N], GPT-2's Conv1D).
void pack_gemv_panels_avx2(const Tensor& w, int64_t N, int64_t K, bool in_out, uint16_t* dst);
struct GemvOutput {
  const Tensor* w;
  int64_t N;
  float* out;
  const uint16_t* panels = nullptr;
};
void gemv_avx2(const float* x, int64_t K, const std::vector<GemvOutput>& outputs);
// out[N] = act(x·W_gateᵀ) ⊙ (x·W_upᵀ) at M = 1 (act: not softplus), from the panels when given.
void gated_gemv_avx2(const float* x, int64_t K, const Tensor& gate, const Tensor& up, int64_t N, Activation act,
                     float* out, const uint16_t* gate_panels, const uint16_t* up_panels);
void small_m_avx2(const float* x, int64_t M, int64_t K, const Tensor& w, int64_t N, float* out);
void to_f32_avx2(const Tensor& w, int64_t n0, int64_t nb, int64_t K, float* dst);  // bf16/f16 rows
// The packed prefill GEMM (gemm_packed_avx2.cpp): weights [N, K] (in_out: [K, N], GPT-2's Conv1D)
// of any float dtype packed once
// into f32 panels of kPanel output columns (packed_weight_floats floats, 32-byte aligned), then
// out[M, N] = x[M, K]·Wᵀ from them.
constexpr int64_t kPanel = 16;
int64_t packed_weight_floats(int64_t N, int64_t K);
void pack_weight_avx2(const Tensor& w, int64_t N, int64_t K, bool in_out, float* dst);
struct PackedOutput {
  const float* packed;  // the weight's panels
  int64_t N;
  float* out;  // [M, N]
};
// Every output of one input in one pass (one output: a plain linear; q/k/v: three): the input is
// packed once and the panels of all the weights are shared out among the threads together.
void packed_gemm_avx2(const float* x, int64_t M, int64_t K, const std::vector<PackedOutput>& outputs);
// out[M, N] = act(x·W_gateᵀ) ⊙ (x·W_upᵀ) (act: not softplus): a panel's two products are computed
// together and combined as they leave the tile, so neither [M, N] product is written.
void packed_gated_gemm_avx2(const float* x, int64_t M, int64_t K, const float* gate, const float* up, int64_t N,
                            Activation act, float* out);
// C[M, N] (+)= A[M, K]·B[K, N] with element strides (row, column) for A and B; C's rows ldc apart.
void small_gemm_avx2(const float* A, int64_t a_rs, int64_t a_cs, const float* B, int64_t b_rs, int64_t b_cs, float* C,
                     int64_t ldc, int64_t M, int64_t N, int64_t K, bool accumulate);

}  // namespace anatomy::cpu
