// CPU kernels, scalar reference versions: plain loops, F32 accumulation, weights read in their
// stored dtype (F32, BF16, F16). Fast AVX2 versions will sit beside these and be tested
// against them. Kernels never throw; ops/ has checked every shape before calling.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace anatomy::cpu {

void embedding(const Tensor& weight, const Tensor& ids, Tensor& out);
// Dispatches to the fast path (gemm.h) and falls back to linear_reference, the scalar definition.
void linear(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out);
void linear_reference(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out);
void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& out);
void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out);
void gated_rms_norm(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps, Tensor& out);
void activation(const Tensor& x, int act, Tensor& out);  // ops::Act as int
void binary(const Tensor& a, const Tensor& b, int op, Tensor& out);  // 0 add, 1 mul (b broadcasts)
void slice_last(const Tensor& x, int64_t start, Tensor& out);
void concat_last(const Tensor& a, const Tensor& b, Tensor& out);
void rope(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out);
void attention(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal, int64_t past,
               float masked_value, const Tensor* key_padding, const Tensor* query_padding, Tensor& out);
void attention_reference(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal, int64_t past,
                         float masked_value, const Tensor* key_padding, const Tensor* query_padding, Tensor& out);
// AVX2 + OpenMP version (attention_avx2.cpp); false when the CPU lacks AVX2.
bool attention_fast(const Tensor& q, const Tensor& k, const Tensor& v, float scale, bool causal, int64_t past,
                    float masked_value, const Tensor* key_padding, const Tensor* query_padding, Tensor& out);
void sinusoid_table(Tensor& out);
void causal_conv1d(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out);
void causal_conv1d_reference(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out);
bool causal_conv1d_fast(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& state, Tensor& out);
void ssm_scan(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
              const Tensor& D, Tensor& state, Tensor& out);
void ssm_scan_reference(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                        const Tensor& D, Tensor& state, Tensor& out);
// The chunked SSD form of the same scan (ssd_chunked.cpp), chunks of `chunk` steps.
void ssm_scan_chunked(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                      const Tensor& D, Tensor& state, Tensor& out, int64_t chunk);
// AVX2 + OpenMP versions (ssm_avx2.cpp); false when they do not apply (no AVX2, N % 8 ≠ 0).
bool ssm_scan_fast(const Tensor& x, const Tensor& dt, const Tensor& A, const Tensor& Bm, const Tensor& Cm,
                   const Tensor& D, Tensor& state, Tensor& out);
void write_time(Tensor& dst, const Tensor& src, int64_t at);
void slice_time(const Tensor& src, int64_t start, Tensor& out);
void neg_exp(const Tensor& x, Tensor& out);

// Reference versions (the definitions) and AVX2 fast paths (*_avx2.cpp, compiled with AVX2 flags:
// call them only when have_avx2()); a fast path returns false when it does not apply and the
// dispatching kernel above runs the reference.
void rms_norm_reference(const Tensor& x, const Tensor& w, float eps, Tensor& out);
void binary_reference(const Tensor& a, const Tensor& b, int op, Tensor& out);
void activation_reference(const Tensor& x, int act, Tensor& out);
void rope_reference(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out);
bool rms_norm_fast(const Tensor& x, const std::vector<float>& w, float eps, Tensor& out);
void embedding_reference(const Tensor& weight, const Tensor& ids, Tensor& out);
void layer_norm_reference(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& out);
void gated_rms_norm_reference(const Tensor& y, const Tensor& z, const Tensor& w, int64_t groups, float eps, Tensor& out);
bool embedding_fast(const Tensor& weight, const Tensor& ids, Tensor& out);
bool layer_norm_fast(const Tensor& x, const std::vector<float>& w, const std::vector<float>& b, float eps, Tensor& out);
bool gated_rms_norm_fast(const Tensor& y, const Tensor& z, const std::vector<float>& w, int64_t groups, float eps,
                         Tensor& out);
bool binary_fast(const Tensor& a, const std::vector<float>& b, int op, Tensor& out);
bool activation_fast(const Tensor& x, int act, Tensor& out);
bool rope_fast(const Tensor& x, const std::vector<float>& inv_freq, int64_t past, Tensor& out);

// A small tensor (norm weights, biases) as floats.
std::vector<float> floats(const Tensor& t);

// Element i of a plain-dtype tensor as float.
float load(const Tensor& t, uint64_t i);

}  // namespace anatomy::cpu
