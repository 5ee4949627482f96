// CPU kernels, one file per op family (embedding, linear, norm, elementwise, attention, conv, ssm,
// cache, loss): the scalar reference of each — plain loops, F32 accumulation, weights read in
// their stored dtype (F32, BF16, F16) — and its dispatcher, which runs the AVX2 fast path
// (*_avx2.cpp, compiled with AVX2 flags and called only when have_avx2()) and falls back to the
// reference when the fast path declines (returns false). Kernels never throw: ops/ has checked
// every shape. The dispatchers are what backend/cpu/cpu_backend.cpp exposes as the CPU backend.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend/backend.h"
#include "core/tensor.h"

namespace anatomy::cpu {

// Kernels with a fast path. Each dispatcher counts the calls its fast path served, so tests can
// assert that the path they compare against the reference really ran.
enum class Kernel { embedding, linear, rms_norm, layer_norm, gated_rms_norm, activation, binary, rope, attention,
                    causal_conv1d, ssm_scan, attention_backward, activation_backward,
                    rms_norm_backward, layer_norm_backward, cross_entropy, cross_entropy_backward, linear_group,
                    gated_linear };
constexpr int kKernels = 19;
uint64_t fast_runs(Kernel k);
void count_fast(Kernel k);
const char* kernel_name(Kernel k);

bool have_avx2();

// Runs `fast` when the CPU has AVX2 and the fast path accepts the case (counted as a fast run),
// otherwise `reference`.
template <class Fast, class Reference>
void dispatch(Kernel k, Fast&& fast, Reference&& reference) {
  if (have_avx2() && fast()) count_fast(k);
  else reference();
}

void embedding(const Tensor& weight, const Tensor& ids, Tensor& out);
void embedding_reference(const Tensor& weight, const Tensor& ids, Tensor& out);
bool embedding_fast(const Tensor& weight, const Tensor& ids, Tensor& out);
void sinusoid_table(Tensor& out);
void positions(int64_t past, Tensor& out);

// Dispatches to the fast path (gemm.h) and falls back to linear_reference, the scalar definition.
void linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out);
void linear_reference(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out);
// Projections of one input as one GEMM on gemm.h's fused path (counted; fuses_linears says
// whether it would run): false, having done nothing, when it does not — the caller then runs each
// projection (Backend's defaults).
bool fuses_linears(const Tensor& x, const std::vector<Tensor>& ws, std::optional<Activation> gated);
bool linear_group(const Tensor& x, const std::vector<Tensor>& ws, const std::vector<const Tensor*>& biases,
                  std::vector<Tensor>& outs);
bool gated_linear(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act, Tensor& out);

void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out);
void rms_norm_reference(const Tensor& x, const Tensor& w, float eps, Tensor& out);
bool rms_norm_fast(const Tensor& x, const std::vector<float>& w, float eps, Tensor& out);
void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out);
void layer_norm_reference(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out);
bool layer_norm_fast(const Tensor& x, const std::vector<float>& w, const std::vector<float>& b, float eps, Tensor& out);
void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps, Tensor& out);
void gated_rms_norm_reference(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps, Tensor& out);
bool gated_rms_norm_fast(const Tensor& y, const Tensor& z, const std::vector<float>& w, int64_t groups, float eps,
                         Tensor& out);

// Every activation but softplus has an AVX2 form (avx2::activation8); softplus takes the reference.
inline bool has_vector_form(Activation act) { return act != Activation::softplus; }
// Calls f(std::integral_constant<Activation, act>) for an activation with a vector form, so that a
// loop is instantiated per activation (avx2::activation8<A>); false, calling nothing, for softplus.
template <class F>
bool with_vector_activation(Activation act, F&& f) {
  using A = Activation;
  switch (act) {
    case A::silu: f(std::integral_constant<A, A::silu>{}); return true;
    case A::gelu: f(std::integral_constant<A, A::gelu>{}); return true;
    case A::gelu_tanh: f(std::integral_constant<A, A::gelu_tanh>{}); return true;
    case A::relu: f(std::integral_constant<A, A::relu>{}); return true;
    case A::relu2: f(std::integral_constant<A, A::relu2>{}); return true;
    case A::softplus: return false;
  }
  return false;
}
void activation(const Tensor& x, Activation act, Tensor& out);
void activation_reference(const Tensor& x, Activation act, Tensor& out);
bool activation_fast(const Tensor& x, Activation act, Tensor& out);
void binary(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out);  // b broadcasts
void binary_reference(const Tensor& a, const Tensor& b, BinaryOp op, Tensor& out);
// b: bn floats (an F32 b is read in place, not copied into a fresh vector per call).
bool binary_fast(const Tensor& a, const float* b, int64_t bn, BinaryOp op, Tensor& out);
void neg_exp(const Tensor& x, Tensor& out);
void clamp(const Tensor& x, float lo, float hi, Tensor& out);
void slice_last(const Tensor& x, int64_t start, Tensor& out);
void concat_last(const Tensor& a, const Tensor& b, Tensor& out);
void rope(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out);
void rope_reference(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out);
bool rope_fast(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out);

// A small tensor (norm weights, biases) as floats.
std::vector<float> floats(const Tensor& t);

// The one mask rule of the CPU attention kernels: query t of batch b sees key j unless its row is
// padded, j lies after it (causal) or before its window, or key j is padded. Masks read once.
class AttentionMask {
 public:
  AttentionMask(const backend::AttentionArgs& a, int64_t T)
      : a_(a), T_(T), key_keep_(a.key_padding ? floats(*a.key_padding) : std::vector<float>()),
        query_keep_(a.query_padding ? floats(*a.query_padding) : std::vector<float>()) {}
  bool row_masked(int64_t b, int64_t t) const { return !query_keep_.empty() && query_keep_[b * T_ + t] == 0.0f; }
  bool masked(int64_t b, int64_t t, int64_t j, bool row_masked) const {
    return row_masked || (a_.causal && j > a_.past + t) || (a_.window > 0 && j <= a_.past + t - a_.window) ||
           (!key_keep_.empty() && key_keep_[b * a_.keys + j] == 0.0f);
  }
  // The keys [first, last) a row can weigh: with a −∞ fill the causal and window masks give the
  // others P = 0 exactly, so kernels skip them; with a finite fill (−10000) every key counts.
  std::pair<int64_t, int64_t> span(int64_t t, bool row_masked) const {
    if (std::isfinite(a_.masked_value) || row_masked) return {0, a_.keys};
    const int64_t last = a_.causal ? std::min(a_.keys, a_.past + t + 1) : a_.keys;
    return {a_.window > 0 ? std::clamp<int64_t>(a_.past + t - a_.window + 1, 0, last) : 0, last};
  }
  // True when row t weighs exactly the keys of its span, none masked inside it (not padded, a −∞
  // fill, no key padding): kernels then softmax the span alone and need no test per key.
  bool exact_row(int64_t b, int64_t t) const {
    return !std::isfinite(a_.masked_value) && key_keep_.empty() && !row_masked(b, t);
  }
  // An exact row's span in the coordinates of keys [key0, key0 + n), clamped to [0, n).
  std::pair<int64_t, int64_t> span_within(int64_t t, int64_t key0, int64_t n) const {
    const auto [first, last] = span(t, false);
    const int64_t lo = std::clamp(first - key0, int64_t{0}, n);
    return {lo, std::clamp(last - key0, lo, n)};
  }

 private:
  const backend::AttentionArgs& a_;
  int64_t T_;
  std::vector<float> key_keep_, query_keep_;
};

// k and v are [B, Tk_stride, Hkv, hd]; the first a.keys steps are read (a KV cache in place).
void attention(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out);
void attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                         Tensor& out);
bool attention_fast(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out);
// s[0, n) ← softmax(scale · s) in place, n ≥ 1 (AVX2: exp8, one pass for the maximum, one for exp
// and the sum, one to normalise).
void scaled_softmax_avx2(float* s, int64_t n, float scale);
// Query row t's probabilities over keys [key0, key0 + n), in place: s holds the row's unscaled
// scores (values at masked keys are ignored) and becomes P; `computed` (may be null) marks the
// entries that were scores, not fills, whose gradient flows back. An exact row gets P = 0 outside
// its span and the vector softmax inside; another takes the fill at each masked key (a −∞ fill
// weighs exactly 0: exp8 floors at e^−87.3).
void masked_softmax_row_avx2(const AttentionMask& mask, const backend::AttentionArgs& a, int64_t b, int64_t t,
                             int64_t key0, float* s, int64_t n, char* computed);
// The softmax's backward over one row: d ← scale · p ∘ (d − Σ p∘d) (d holds dP, becomes dS).
void softmax_backward_avx2(const float* p, float* d, int64_t n, float scale);
// Queries from this count on run as GEMMs per head (attention_gemm.cpp): prefill and training.
// With the vector softmax the GEMM form is faster from 16 queries on (seed 001's 32-token steps:
// attention 1.8 → 1.0 ms per forward, bench/RESULTS.md); fewer (decode) take the row kernel.
constexpr int64_t kGemmAttentionFrom = 16;
// The GEMM form keeps the probabilities for the backward pass when asked (AttentionArgs).
bool attention_keeps_probabilities(const Tensor& q);
bool attention_gemm(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a, Tensor& out);

void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out);
void causal_conv1d_reference(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out);
bool causal_conv1d_fast(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out);

void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
              const Tensor& D, Tensor& state, Tensor& out);
void ssm_scan_reference(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                        const Tensor& D, Tensor& state, Tensor& out);
// false when it does not apply (N % 8 ≠ 0).
bool ssm_scan_fast(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                   const Tensor& D, Tensor& state, Tensor& out);
// The chunked SSD form of the same scan (ssd_chunked.cpp), chunks of `chunk` steps.
void ssm_scan_chunked(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                      const Tensor& D, Tensor& state, Tensor& out, int64_t chunk);

void write_time(Tensor& dst, const Tensor& src, int64_t at);
void slice_time(const Tensor& src, int64_t start, Tensor& out);

// Softmax cross-entropy per token: the reference (double exp and sums) and the AVX2 fast path
// (exp8, sums in double lanes; the backward writes each row's exponentials once to a scratch row).
void cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out);
void cross_entropy_reference(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out);
bool cross_entropy_fast(const Tensor& logits, const Tensor& targets, int64_t ignore_index, Tensor& out);

// ---- Backward passes (training), beside each family's forward; each adds into its gradients.
void fill_zero(Tensor& t);
void accumulate(Tensor& dst, const Tensor& src);
void dropout(const Tensor& x, float p, uint64_t seed, Tensor& out);
void dropout_backward(const Tensor& dy, float p, uint64_t seed, Tensor& dx);
void embedding_backward(const Tensor& dy, const Tensor& ids, Tensor& dweight);
void linear_backward(const Tensor& x, const Tensor& w, const Tensor& dy, bool w_in_out, Tensor* dx, Tensor* dw,
                     Tensor* dbias);
// The norms' backward passes: the references accumulate each row in double; the fast paths (AVX2,
// rows of a multiple of 8) in float, as the forward's fast paths do.
void rms_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw);
void rms_norm_backward_reference(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw);
bool rms_norm_backward_fast(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw);
void layer_norm_backward(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw,
                         Tensor* dbias);
void layer_norm_backward_reference(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw,
                                   Tensor* dbias);
bool layer_norm_backward_fast(const Tensor& x, const Tensor& w, float eps, const Tensor& dy, Tensor& dx, Tensor* dw,
                              Tensor* dbias);
void gated_rms_norm_backward(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps,
                             const Tensor& dout, Tensor& dy, Tensor& dz, Tensor* dw);
void activation_backward(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx);
void activation_backward_reference(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx);
bool activation_backward_fast(const Tensor& x, Activation act, const Tensor& dy, Tensor& dx);
void binary_backward(const Tensor& a, const Tensor& b, BinaryOp op, const Tensor& dout, Tensor* da, Tensor* db);
void neg_exp_backward(const Tensor& out, const Tensor& dy, Tensor& dx);
void clamp_backward(const Tensor& x, float lo, float hi, const Tensor& dy, Tensor& dx);
void slice_last_backward(const Tensor& dy, int64_t start, Tensor& dx);
void rope_backward(const Tensor& dy, const std::vector<float>& inv_freq, int64_t past, Tensor& dx);
// Dispatches to the GEMM form (attention_gemm.cpp) and falls back to the scalar reference.
void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                        const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv);
void attention_backward_reference(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                                  const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv);
bool attention_backward_gemm(const Tensor& q, const Tensor& k, const Tensor& v, const backend::AttentionArgs& a,
                             const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv);
void causal_conv1d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor& dx, Tensor& dw, Tensor* dbias);
void ssm_scan_backward(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                       const Tensor& D, const Tensor& dy, Tensor& dx, Tensor& ddt, Tensor& dA, Tensor& dB, Tensor& dC,
                       Tensor& dD);
void write_time_backward(const Tensor& ddst, int64_t at, Tensor& dsrc);
void slice_time_backward(const Tensor& dy, int64_t start, Tensor& dsrc);
void cross_entropy_backward(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& dloss,
                            Tensor& dlogits);
void cross_entropy_backward_reference(const Tensor& logits, const Tensor& targets, int64_t ignore_index,
                                      const Tensor& dloss, Tensor& dlogits);
bool cross_entropy_backward_fast(const Tensor& logits, const Tensor& targets, int64_t ignore_index, const Tensor& dloss,
                                 Tensor& dlogits);

// Element-wise loops split across threads from this many elements on (one threshold for all; the
// loops had 32k and 64k). Measured alone at seed 001's training shape it was neither faster nor
// slower (bench/RESULTS.md, stop 25).
constexpr int64_t kParallelElements = 1 << 14;

// Runs per_row(r, acc) for r in [0, R) across threads, each thread adding into its own zeroed
// row of C partial sums, then adds the partials into `out` (when not null): the column
// reductions of the norm and broadcast gradients without atomics.
template <class PerRow>
void column_sums(int64_t R, int64_t C, float* out, PerRow&& per_row) {
  std::vector<std::vector<float>> partial;
#pragma omp parallel if (R * C > (1 << 15))
  {
#pragma omp single
    partial.assign(static_cast<size_t>(omp_get_num_threads()), std::vector<float>());
    std::vector<float>& acc = partial[static_cast<size_t>(omp_get_thread_num())];
    acc.assign(static_cast<size_t>(C), 0.0f);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < R; ++r) per_row(r, acc.data());
  }
  if (out)
    for (const auto& acc : partial)
      for (int64_t j = 0; j < C; ++j) out[j] += acc[j];
}

// Element i of a plain-dtype tensor as float.
float load(const Tensor& t, uint64_t i);

inline int64_t last(const Tensor& t) { return t.dim(-1); }
inline int64_t rows(const Tensor& t) { return static_cast<int64_t>(t.numel()) / std::max<int64_t>(1, last(t)); }
inline float silu(float v) { return v / (1.0f + std::exp(-v)); }

}  // namespace anatomy::cpu
