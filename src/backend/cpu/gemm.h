// The fast path of ops::linear: y[M, N] = x[M, K]·Wᵀ (+ b), weights kept in their stored dtype.
//  - M = 1 (decode): a GEMV streaming the stored weights once (AVX2, on AVX-512 machines too),
//    reading BF16/F16 directly — for f32 at M = 1, 1.5–1.9× oneDNN and 3.7–4.4× OpenBLAS
//    (`bench_gemm_sweep 8192 2048 F32 2 1` and `2048 8192`, bench/RESULTS.md, stop 29);
//  - M ≥ 2 (prefill): one of the LinearPaths below, chosen per weight dtype and range of M by a
//    LinearPlan: built-in defaults measured on a Zen 4, or the calibration `anatomy device` makes
//    on this machine (analysis/device.cpp), which times every path and keeps the fastest.
// Weights a path needs in another form (f32 copies of half weights, packed panels, oneDNN's
// reordered layout) are made on their first prefill and kept while the copies stay under half the
// memory available then — and only for weights whose storage is frozen (Storage::freeze: loaded
// for inference); weights that may change (training, finite differences) and copies over the
// budget run oneDNN on the stored weight instead (half weights: blocks widened into a scratch per
// call, as oneDNN 2.6 has no half matmul on AVX2).
#pragma once

#include <string>
#include <vector>

#include "core/kinds.h"
#include "core/tensor.h"

namespace anatomy::cpu {

// Prefill GEMM paths:
//  - onednn: oneDNN's matmul on the stored [N, K] view (half weights: on their f32 copy);
//  - onednn_reordered: oneDNN's matmul on a copy reordered once into the layout oneDNN prefers;
//  - packed: the engine's own AVX2 kernel on weights packed once into panels (gemm_packed_avx2.cpp);
//  - openblas: OpenBLAS's sgemm on the stored view or f32 copy (loaded at run time where present);
//  - registers: a register-blocked kernel reading the stored weights, widened in registers (small M).
enum class LinearPath { onednn, onednn_reordered, packed, openblas, registers };
constexpr LinearPath kLinearPaths[] = {LinearPath::onednn, LinearPath::onednn_reordered, LinearPath::packed,
                                       LinearPath::openblas, LinearPath::registers};
const char* path_name(LinearPath p);
// "" when the path runs here; otherwise why not (no AVX2, not in this build, ISA cap).
std::string path_unavailable(LinearPath p);

// From m_from on (up to the next step of the same dtype), weights of `dtype` take `path`.
struct PlanStep {
  DType dtype;
  int64_t m_from;
  LinearPath path;
};
struct LinearPlan {
  std::vector<PlanStep> steps;
  std::string source;
};
LinearPlan default_linear_plan();
// Call before any model runs (not thread-safe against running kernels); throws a config error
// for a path that does not run here.
void set_linear_plan(LinearPlan plan);
const LinearPlan& linear_plan();
LinearPath planned_path(DType dtype, int64_t M);

// y[M, N] = x[M, K]·Wᵀ (W [N, K], F32/BF16/F16, M ≥ 2) through exactly `path`, no bias, without a
// fallback: false when the path cannot run it here (unavailable, a copy over the budget or of a
// weight that is not frozen).
// The calibration times paths with it; tests check each against the reference.
// w_in_out: W stored [K, N] (GPT-2's Conv1D), which every path but `registers` takes.
bool linear_through(LinearPath path, const Tensor& x, const Tensor& w, Tensor& out, bool w_in_out = false);
// Prefill GEMMs each path has run so far (tests assert which path ran).
uint64_t path_runs(LinearPath p);
// Decode GEMVs (M = 1) that read half-precision weights' panel form (gemm_kernels.h) so far.
uint64_t panel_gemv_runs();

// false when the fast path does not handle this case (the caller uses the reference kernel).
bool linear_fast(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out);
// out[M, N] (+)= bias[N], an F32 bias read in place.
void add_bias(const Tensor& bias, int64_t M, int64_t N, float* out);

// Projections of one input as one GEMM (q/k/v; gate/up), on the packed path or, for one row
// (decode), the GEMV — the paths the plans of AVX2 machines pick; where another path leads (oneDNN
// on reordered copies with AVX-512) each projection runs on its own. fuses_linears (kernels.h) says
// whether they would run here: x F32, weights [N_i, K] of one float dtype and, for M ≥ 2 rows,
// frozen and planned `packed` at this M (gated: an activation with a vector form). These return
// false also when a copy does not fit the budget; the caller then runs each projection on its own.
bool linear_group_fast(const Tensor& x, const std::vector<Tensor>& ws, std::vector<Tensor>& outs);  // no biases
// out = act(x·w_gateᵀ) ⊙ (x·w_upᵀ), the activation and product in the GEMM's epilogue.
bool gated_linear_fast(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act, Tensor& out);

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

// Bytes of weight copies kept (prefill's f32 copies of half weights, packed panels, reordered
// layouts; decode's panel form of half weights).
uint64_t prepared_weight_bytes();
// The copies' budget in bytes (0: half the memory available, measured at the next copy); tests set
// a small one. Copies already made stay.
void set_prepared_budget(uint64_t bytes);


}  // namespace anatomy::cpu
