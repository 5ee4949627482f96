// The CUDA kernels' launchers, one .cu file per op family (embedding, linear, norm, elementwise,
// attention, conv, ssm, loss). They take raw device pointers and sizes that ops/ has checked,
// queue work on `s` and return at once. Tensors are contiguous and row-major; `Elem` says how a
// weight operand is stored (activations are f32).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend/cuda/cuda_common.h"

namespace anatomy::cuda {

// A token position as ops give it. Inside a recording (backend.h's Recording) `shift` points at
// the device value each replay adds, so one recorded step serves every later position.
struct Position {
  int64_t value = 0;
  const int64_t* shift = nullptr;
#ifdef __CUDACC__
  __device__ __forceinline__ int64_t get() const { return shift ? value + *shift : value; }
#endif
};

// embedding.cu
void embedding(const void* weight, Elem wt, int64_t V, int64_t d, const int64_t* ids, int64_t n, float* out,
               cudaStream_t s);
void sinusoid_table(float* out, int64_t T, int64_t d, cudaStream_t s);
void positions(Position past, int64_t B, int64_t T, int64_t* out, cudaStream_t s);
// *p = value, queued (a recording's shift, set before each replay).
void fill_i64(int64_t* p, int64_t value, cudaStream_t s);

// linear.cu: out[M, N] = x[M, K] · W^T (+ bias) through cuBLASLt. W is [N, K] (nn.Linear) or
// [K, N] (w_in_out, GPT-2's Conv1D). F32 weights run an F32 GEMM (no TF32); BF16/F16 weights a
// half-precision GEMM on x rounded to that type, accumulated and written in F32.
void linear(const float* x, const void* w, Elem wt, const void* bias, Elem bt, bool w_in_out, int64_t M, int64_t N,
            int64_t K, float* out, cudaStream_t s);
// The GEMV kernel's runs so far (tests assert which path ran).
uint64_t gemv_runs();

// Strided-batched f32 GEMM (cuBLASLt, no TF32), row-major: C_i[M, N] = A_i[M, K] · B_i^T with
// B_i [N, K] (b_transposed) or A_i · B_i with B_i [K, N]; ld* are row strides, stride_* batch strides.
void batched_gemm_f32(const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b,
                      bool b_transposed, float* C, int64_t ldc, int64_t stride_c, int64_t M, int64_t N, int64_t K,
                      int64_t batch, cudaStream_t s);

// norm.cu: one block per row.
void rms_norm(const float* x, const void* w, Elem wt, float eps, int64_t rows, int64_t d, float* out, cudaStream_t s);
void layer_norm(const float* x, const void* w, Elem wt, const void* b, Elem bt, float eps, int64_t rows, int64_t d,
                float* out, cudaStream_t s);
void gated_rms_norm(const float* y, const float* z, const void* w, Elem wt, int64_t groups, float eps, int64_t rows,
                    int64_t d, float* out, cudaStream_t s);

// elementwise.cu
void activation(const float* x, int act, int64_t n, float* out, cudaStream_t s);  // act: Activation
void binary(const float* a, const void* b, Elem bt, int64_t bn, int op, int64_t n, float* out, cudaStream_t s);
void neg_exp(const void* x, Elem xt, int64_t n, float* out, cudaStream_t s);
void clamp(const float* x, float lo, float hi, int64_t n, float* out, cudaStream_t s);
// Rows of `in_width` floats: out row = in[start, start + out_width).
void slice_last(const float* x, int64_t rows, int64_t in_width, int64_t start, int64_t out_width, float* out,
                cudaStream_t s);
void concat_last(const float* a, int64_t na, const float* b, int64_t nb, int64_t rows, float* out, cudaStream_t s);
void rope(const float* x, const float* inv_freq, Position past, int64_t B, int64_t T, int64_t H, int64_t hd, float* out,
          cudaStream_t s);
// KV cache append: src [B, T, inner] into dst [B, Tmax, inner] at time `at` (nothing is written
// where at + T would pass Tmax).
void write_time(const float* src, int64_t B, int64_t T, int64_t inner, int64_t Tmax, Position at, float* dst,
                cudaStream_t s);

// attention.cu: q [B, T, Hq, hd], k/v [B, stride, Hkv, hd] of which `keys` steps are read; online
// softmax (flash-style), f32. In a recording, a causal attention's past and keys move by `shift`.
struct AttentionShape {
  int64_t B, T, Hq, hd, stride, Hkv, keys;
  float scale;
  bool causal;
  int64_t past, window;
  float masked_value;
  const float* key_padding;    // [B, keys] or null
  const float* query_padding;  // [B, T] or null
  const int64_t* shift = nullptr;
};
// Prefill (T ≥ 32, scores within 1 GiB, not recorded) runs as batched GEMMs per KV head with a
// masked softmax between them (tensor-core-free f32, exact to the reference's semantics); the
// rest, decode included, as the flash-style kernel, its keys split over several blocks (split-K,
// partial results merged by a second kernel) when the query rows alone would leave most SMs idle.
// The split count follows the cache's size, not the keys used, so a recorded step keeps its grid.
void attention(const float* q, const float* k, const float* v, const AttentionShape& a, float* out, cudaStream_t s);
uint64_t attention_gemm_runs();
uint64_t attention_split_runs();

// conv.cu: depthwise causal conv1d; x [B, T, C], w [C, 1, K], state [B, C, K − 1] updated.
void causal_conv1d(const float* x, const void* w, Elem wt, const void* bias, Elem bt, int64_t B, int64_t T, int64_t C,
                   int64_t K, float* state, float* out, cudaStream_t s);

// ssm.cu: the Mamba2 selective scan; state [B, H, P, N] updated. Prefill (T ≥ 16, a head's state
// within shared memory) runs the chunked SSD form, the rest the recurrence.
struct ScanShape {
  int64_t B, T, H, P, G, N;
};
int64_t max_state_size();
uint64_t ssd_runs();  // scans the chunked form ran so far (tests assert which path ran)
void ssm_scan(const float* x, const float* dt, const void* A, Elem At, const float* Bm, const float* Cm, const void* D,
              Elem Dt, const ScanShape& sh, float* state, float* out, cudaStream_t s);

// loss.cu: per-row −log softmax(logits)[target]; 0 where target == ignore_index.
void cross_entropy(const float* logits, int64_t rows, int64_t V, const int64_t* targets, int64_t ignore_index,
                   float* out, cudaStream_t s);

// Memory rates (device.h): one pass reading n floats; a copy of n floats.
void read_pass(const float* a, int64_t n, float* sink, cudaStream_t s);

}  // namespace anatomy::cuda
