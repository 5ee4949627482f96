// Ops: each checks its inputs (errors name the op and the shapes), computes the output shape,
// reports its cost under the conventions of ARCHITECTURES.md §2, then runs its CPU kernel
// unless the context is meta. Activations are F32 [B, T, C] row-major; weights keep their
// stored dtype (F32, BF16, F16). ops/ does no arithmetic: kernels live in backend/.
#pragma once

#include <cmath>
#include <vector>

#include "ops/context.h"

namespace anatomy::ops {

// [B, T] token ids (I32 or I64) -> [B, T, d]. 0 FLOPs; bytes of the rows read.
Tensor embedding(const Context& c, const Tensor& weight, const Tensor& ids);

// y = x·Wᵀ (+ b). W is nn.Linear's [N, K], or [K, N] when `w_in_out` (GPT-2 Conv1D).
// 2·M·N·K FLOPs in class `cls` (linear, or head for the LM head); the bias add is elementwise.
Tensor linear(const Context& c, const Tensor& x, const Tensor& w, const Tensor* bias,
              OpClass cls = OpClass::linear, bool w_in_out = false);

Tensor rms_norm(const Context& c, const Tensor& x, const Tensor& weight, double eps);   // 4 FLOPs/element
Tensor layer_norm(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias,
                  double eps);                                                        // 8 FLOPs/element
// Mamba2 gated norm: v = y·silu(z), RMS-normalised per group of last-dim channels, × weight.
Tensor gated_rms_norm(const Context& c, const Tensor& y, const Tensor& z, const Tensor& weight,
                      int64_t groups, double eps);

enum class Act { silu, gelu, gelu_tanh, relu, relu2, softplus };
Tensor activation(const Context& c, const Tensor& x, Act act);  // 1 FLOP per element (stated)
Tensor add(const Context& c, const Tensor& a, const Tensor& b);  // b may broadcast over leading dims
Tensor mul(const Context& c, const Tensor& a, const Tensor& b);
// Last-dimension slicing and concatenation (data movement only: 0 FLOPs).
Tensor slice_last(const Context& c, const Tensor& x, int64_t start, int64_t length);
Tensor concat_last(const Context& c, const Tensor& a, const Tensor& b);

// Rotary embedding, rotate-half pairing (§3.3), on x [B, T, H, hd] for positions
// past … past+T−1; inv_freq has hd/2 entries. Elementwise class, 3 FLOPs per element.
Tensor rope(const Context& c, const Tensor& x, const std::vector<float>& inv_freq, int64_t past);

struct AttentionOptions {
  float scale = 1.0f;
  bool causal = true;
  int64_t past = 0;           // queries sit at positions past … past+T−1 of the keys
  float masked_value = -INFINITY;  // hyunwoongko's transformer fills masked scores with -10000
  const Tensor* key_padding = nullptr;    // optional [B, Tk] (nonzero = keep)
  const Tensor* query_padding = nullptr;  // optional [B, T]: a zero masks the query's whole row
};
// q [B, T, Hq, hd], k and v [B, Tk, Hkv, hd] (Hq a multiple of Hkv) -> [B, T, Hq·hd].
// Costs: QKᵀ and P·V 2·B·Hq·T·Tk·hd each (attention class, full rectangle, §2);
// softmax 5·B·Hq·T·Tk (elementwise).
Tensor attention(const Context& c, const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& o);

// Depthwise causal conv1d over x [B, T, C] with weight [C, 1, K]; `state` [B, C, K−1] holds the
// previous inputs (zeros at the start) and is updated. 2·B·T·C·K FLOPs (conv), bias elementwise.
Tensor causal_conv1d(const Context& c, const Tensor& x, const Tensor& weight, const Tensor* bias,
                     Tensor& state);

// Mamba2 selective scan (§3.6, recurrent form): x [B,T,H,P], dt [B,T,H] (after softplus),
// A [H] (negative), Bm and Cm [B,T,G,N], D [H]; state [B,H,P,N] updated. Returns y [B,T,H,P].
// B·T·H·(5·P·N + 3·P) FLOPs (ssm class).
Tensor ssm_scan(const Context& c, const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm,
                const Tensor& Cm, const Tensor& D, Tensor& state);

// Copies src [B, T, ...] into dst [B, Tmax, ...] at time offset `at` (KV cache append).
void write_time(const Context& c, Tensor& dst, const Tensor& src, int64_t at);
// Time steps [start, start+length) of a [B, Tmax, ...] tensor as a new [B, length, ...] tensor.
Tensor slice_time(const Context& c, const Tensor& src, int64_t start, int64_t length);

// Sinusoidal position table [T, d]: PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(…).
// A constant table (0 FLOPs counted), as in the original implementations.
Tensor sinusoid_table(const Context& c, int64_t tokens, int64_t dim);

// -exp(x) and x + b per element for small per-head parameters (F32 result).
Tensor neg_exp(const Context& c, const Tensor& x);

}  // namespace anatomy::ops
