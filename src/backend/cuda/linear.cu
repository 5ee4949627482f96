// nn.Linear / Conv1D. Up to 8 rows (decode, small batches) run a GEMV kernel of our own that reads
// every weight once with 16-byte loads, f32 activations and f32 sums (no rounding of x); the rest
// go through cuBLASLt. Row-major out[M, N] = x[M, K] · W^T is, in cuBLAS's
// column-major terms, out^T (N × M) = op(W) · x^T: W stored [N, K] is a K × N column-major matrix
// used transposed; W stored [K, N] (w_in_out) is N × K used as is. Half-precision weights run a
// half-precision GEMM: x is rounded to the weights' type (one pass, into a scratch tensor from the
// block cache), products accumulate and land in f32. One plan (layouts + the heuristic's
// algorithm) per shape and type, cached.
#include <cublasLt.h>

#include <atomic>
#include <map>
#include <mutex>
#include <tuple>

#include "backend/cuda/device_util.cuh"
#include "core/error.h"

namespace anatomy::cuda {
namespace {

void check_cublas(cublasStatus_t st, const char* what) {
  if (st != CUBLAS_STATUS_SUCCESS) fail(ErrorKind::internal, std::string("cuBLASLt: ") + what + " failed (status " + std::to_string(static_cast<int>(st)) + ")");
}

constexpr size_t kWorkspace = size_t{32} << 20;

// The largest power of two up to 256 that divides every address.
uint32_t alignment(std::initializer_list<const void*> pointers) {
  uintptr_t bits = 256;
  for (const void* p : pointers) bits |= reinterpret_cast<uintptr_t>(p);
  return static_cast<uint32_t>(bits & (~bits + 1));
}

struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

// Up to `wanted` algorithms cuBLASLt proposes for a plan's layouts, given the operands' alignment.
int candidates(cublasLtHandle_t handle, const Plan& p, uint32_t align, int wanted, cublasLtMatmulHeuristicResult_t* results) {
  cublasLtMatmulPreference_t pref = nullptr;
  check_cublas(cublasLtMatmulPreferenceCreate(&pref), "PreferenceCreate");
  check_cublas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspace,
                                                    sizeof kWorkspace), "workspace preference");
  for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
    check_cublas(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align), "alignment preference");
  int found = 0;
  check_cublas(cublasLtMatmulAlgoGetHeuristic(handle, p.op, p.a, p.b, p.c, p.c, pref, wanted, results, &found),
               "AlgoGetHeuristic");
  cublasLtMatmulPreferenceDestroy(pref);
  if (found == 0) fail(ErrorKind::internal, "cuBLASLt has no algorithm for this GEMM");
  return found;
}

// A matmul description in f32 compute with the weights' operand transposed or not.
void describe(Plan& p, bool transa) {
  check_cublas(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
  const cublasOperation_t ta = transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
  check_cublas(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "TRANSA");
  check_cublas(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "TRANSB");
}

struct Lt {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  std::mutex mu;
  std::map<std::tuple<int64_t, int64_t, int64_t, int, bool, int>, Plan> plans;
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, int>, Plan>
      batched;

  Lt() {
    check_cublas(cublasLtCreate(&handle), "cublasLtCreate");
    ANATOMY_CUDA_CHECK(cudaMalloc(&workspace, kWorkspace));
  }

  // One plan per shape, type and pointer alignment (views of activations may start anywhere;
  // cuBLASLt's heuristic otherwise assumes 256 bytes). The heuristic's first eight candidates are
  // timed once on these operands and the fastest is kept: its first choice is often not the
  // fastest for skinny prefill shapes.
  const Plan& plan(int64_t M, int64_t N, int64_t K, Elem wt, bool w_in_out, const void* x, const void* w, float* out,
                   cudaStream_t s) {
    const uint32_t align = alignment({x, w, out});
    const auto key = std::make_tuple(M, N, K, static_cast<int>(wt), w_in_out, static_cast<int>(align));
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
    const cudaDataType_t ab = wt == Elem::bf16 ? CUDA_R_16BF : wt == Elem::f16 ? CUDA_R_16F : CUDA_R_32F;
    Plan p;
    describe(p, !w_in_out);
    if (w_in_out) check_cublas(cublasLtMatrixLayoutCreate(&p.a, ab, N, K, N), "layout W");
    else check_cublas(cublasLtMatrixLayoutCreate(&p.a, ab, K, N, K), "layout W");
    check_cublas(cublasLtMatrixLayoutCreate(&p.b, ab, K, M, K), "layout x");
    check_cublas(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, N, M, N), "layout out");
    cublasLtMatmulHeuristicResult_t results[8] = {};
    const int found = candidates(handle, p, align, 8, results);
    p.algo = results[found > 1 ? fastest(p, results, found, x, w, out, s) : 0].algo;
    return plans.emplace(key, p).first->second;
  }

  int fastest(const Plan& p, const cublasLtMatmulHeuristicResult_t* results, int found, const void* x, const void* w,
              float* out, cudaStream_t s) {
    cudaEvent_t a = nullptr, b = nullptr;
    ANATOMY_CUDA_CHECK(cudaEventCreate(&a));
    ANATOMY_CUDA_CHECK(cudaEventCreate(&b));
    const float one = 1.0f, zero = 0.0f;
    int best = 0;
    float best_ms = INFINITY;
    for (int i = 0; i < found; ++i) {
      auto run = [&] {
        return cublasLtMatmul(handle, p.op, &one, w, p.a, x, p.b, &zero, out, p.c, out, p.c, &results[i].algo, workspace,
                              kWorkspace, s);
      };
      if (run() != CUBLAS_STATUS_SUCCESS) continue;  // a candidate that refuses these operands is skipped
      ANATOMY_CUDA_CHECK(cudaEventRecord(a, s));
      for (int r = 0; r < 3; ++r) run();
      ANATOMY_CUDA_CHECK(cudaEventRecord(b, s));
      ANATOMY_CUDA_CHECK(cudaEventSynchronize(b));
      float ms = 0;
      ANATOMY_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
      if (ms < best_ms) best_ms = ms, best = i;
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return best;
  }
};

Lt& lt() {
  static Lt state;
  return state;
}

template <class H>
__global__ void round_kernel(const float* x, int64_t n, H* out) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) {
    if constexpr (std::is_same_v<H, __nv_bfloat16>) out[i] = __float2bfloat16(x[i]);
    else out[i] = __float2half(x[i]);
  }
}

// Weight element types as loaded 16 bytes at a time.
__device__ __forceinline__ float2 widen(__nv_bfloat162 h) { return __bfloat1622float2(h); }
__device__ __forceinline__ float2 widen(__half2 h) { return __half22float2(h); }
// bf16 and f16: 8 per pack, widened in pairs.
template <class W>
struct Pack {
  using Pair = std::conditional_t<std::is_same_v<W, __half>, __half2, __nv_bfloat162>;
  static constexpr int n = 8;
  __device__ static void load(const W* p, float* out) {
    const uint4 v = *reinterpret_cast<const uint4*>(p);
    const auto* h = reinterpret_cast<const Pair*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = widen(h[i]);
      out[2 * i] = f.x, out[2 * i + 1] = f.y;
    }
  }
};

template <>
struct Pack<float> {
  static constexpr int n = 4;
  __device__ static void load(const float* p, float* out) {
    const float4 v = *reinterpret_cast<const float4*>(p);
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
  }
};

constexpr int kGemvWarps = 8;  // output rows per block, one warp each
constexpr int kGemvMaxRows = 8;

// acc[m] += x[m, k : k + V] · wf for a pack of V weights at k.
template <class W, int M>
__device__ __forceinline__ void gemv_pack(const float* __restrict__ x, int64_t K, int64_t k, const float* wf, float* acc) {
  constexpr int V = Pack<W>::n;
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float4* xp = reinterpret_cast<const float4*>(x + m * K + k);
#pragma unroll
    for (int j = 0; j < V / 4; ++j) {
      const float4 xv = __ldg(xp + j);
      acc[m] += wf[4 * j] * xv.x + wf[4 * j + 1] * xv.y + wf[4 * j + 2] * xv.z + wf[4 * j + 3] * xv.w;
    }
  }
}

constexpr int kGemvDepth = 4;  // packs of W each lane has in flight before using them

// out[m, n] = x[m, :] · W[n, :] (+ bias[n]) for M ≤ 8: a warp per output column n, each lane
// striding over K in 16-byte packs of W and keeping M sums. The packs are loaded kGemvDepth at a
// time before any is used, so that enough bytes are in flight to cover the memory's latency (a
// decode step's rows are short: one latency round per pack would leave the bandwidth unused).
template <class W, int M>
__global__ void __launch_bounds__(kGemvWarps * 32) gemv_kernel(const float* __restrict__ x, const W* __restrict__ w,
                                                               const void* bias, Elem bt, int64_t N, int64_t K,
                                                               float* __restrict__ out) {
  constexpr int V = Pack<W>::n, kStride = 32 * V;
  const int lane = threadIdx.x % 32;
  const int64_t n = static_cast<int64_t>(blockIdx.x) * kGemvWarps + threadIdx.x / 32;
  if (n >= N) return;
  const W* row = w + n * K;
  float acc[M];
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = 0.0f;
  int64_t k = static_cast<int64_t>(lane) * V;
  for (; k + (kGemvDepth - 1) * kStride < K; k += kGemvDepth * kStride) {
    float wf[kGemvDepth][V];
#pragma unroll
    for (int u = 0; u < kGemvDepth; ++u) Pack<W>::load(row + k + u * kStride, wf[u]);
#pragma unroll
    for (int u = 0; u < kGemvDepth; ++u) gemv_pack<W, M>(x, K, k + u * kStride, wf[u], acc);
  }
  for (; k < K; k += kStride) {
    float wf[V];
    Pack<W>::load(row + k, wf);
    gemv_pack<W, M>(x, K, k, wf, acc);
  }
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = warp_sum(acc[m]);
  if (lane == 0) {
    const float b = bias ? ld(bias, bt, n) : 0.0f;
#pragma unroll
    for (int m = 0; m < M; ++m) out[m * N + n] = acc[m] + b;
  }
}

template <class W, int M = 1>
void launch_gemv(int64_t rows, const float* x, const void* w, const void* bias, Elem bt, int64_t N, int64_t K, float* out,
                 cudaStream_t s) {
  if constexpr (M < kGemvMaxRows) {
    if (rows > M) return launch_gemv<W, M + 1>(rows, x, w, bias, bt, N, K, out, s);
  }
  gemv_kernel<W, M><<<blocks_for(N, kGemvWarps), kGemvWarps * 32, 0, s>>>(x, static_cast<const W*>(w), bias, bt, N, K, out);
  check_launch("gemv");
}

std::atomic<uint64_t> g_gemv_runs{0};

__global__ void bias_kernel(float* out, const void* bias, Elem bt, int64_t M, int64_t N) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < M * N) out[i] += ld(bias, bt, i % N);
}

}  // namespace

uint64_t gemv_runs() { return g_gemv_runs.load(); }

// Row-major C_i = A_i · B_i^T (b_transposed; B_i is [N, K]) or A_i · B_i (B_i is [K, N]), in
// cuBLAS's column-major terms C_i^T = op(B_i) · A_i^T. f32 throughout, no TF32.
void batched_gemm_f32(const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b,
                      bool b_transposed, float* C, int64_t ldc, int64_t stride_c, int64_t M, int64_t N, int64_t K,
                      int64_t batch, cudaStream_t s) {
  Lt& l = lt();
  std::lock_guard<std::mutex> lock(l.mu);
  const auto key = std::make_tuple(M, N, K, lda, ldb, ldc, stride_a, stride_b, stride_c, batch, b_transposed,
                                   static_cast<int>(alignment({A, B, C})));
  auto it = l.batched.find(key);
  if (it == l.batched.end()) {
    Plan p;
    describe(p, b_transposed);
    if (b_transposed) check_cublas(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, K, N, ldb), "layout B");
    else check_cublas(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, N, K, ldb), "layout B");
    check_cublas(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_32F, K, M, lda), "layout A");
    check_cublas(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, N, M, ldc), "layout C");
    const int32_t count = static_cast<int32_t>(batch);
    for (auto [layout, stride] : {std::pair{p.a, stride_b}, std::pair{p.b, stride_a}, std::pair{p.c, stride_c}}) {
      check_cublas(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof count), "batch");
      check_cublas(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride),
                   "batch stride");
    }
    cublasLtMatmulHeuristicResult_t result{};
    candidates(l.handle, p, alignment({A, B, C}), 1, &result);
    p.algo = result.algo;
    it = l.batched.emplace(key, p).first;
  }
  const Plan& p = it->second;
  const float one = 1.0f, zero = 0.0f;
  check_cublas(cublasLtMatmul(l.handle, p.op, &one, B, p.a, A, p.b, &zero, C, p.c, C, p.c, &p.algo, l.workspace, kWorkspace, s),
               "cublasLtMatmul (batched)");
}

void linear(const float* x, const void* w, Elem wt, const void* bias, Elem bt, bool w_in_out, int64_t M, int64_t N,
            int64_t K, float* out, cudaStream_t s) {
  if (M * N == 0) return;
  const int64_t pack = wt == Elem::f32 ? 4 : 8;
  if (M <= kGemvMaxRows && !w_in_out && K % pack == 0 && alignment({x, w}) >= 16) {
    if (wt == Elem::bf16) launch_gemv<__nv_bfloat16>(M, x, w, bias, bt, N, K, out, s);
    else if (wt == Elem::f16) launch_gemv<__half>(M, x, w, bias, bt, N, K, out, s);
    else launch_gemv<float>(M, x, w, bias, bt, N, K, out, s);
    ++g_gemv_runs;
    return;
  }
  Lt& l = lt();
  std::lock_guard<std::mutex> lock(l.mu);
  const void* xb = x;
  Tensor rounded;  // x in the weights' half type; back to the block cache after the GEMM is queued
  if (wt != Elem::f32) {
    rounded = device_empty(wt == Elem::bf16 ? DType::BF16 : DType::F16, {M * K});
    if (wt == Elem::bf16) round_kernel<<<blocks_for(M * K, 256), 256, 0, s>>>(x, M * K, rounded.data<__nv_bfloat16>());
    else round_kernel<<<blocks_for(M * K, 256), 256, 0, s>>>(x, M * K, rounded.data<__half>());
    check_launch("round to half precision");
    xb = rounded.raw();
  }
  const Plan& p = l.plan(M, N, K, wt, w_in_out, xb, w, out, s);
  const float one = 1.0f, zero = 0.0f;
  check_cublas(cublasLtMatmul(l.handle, p.op, &one, w, p.a, xb, p.b, &zero, out, p.c, out, p.c, &p.algo, l.workspace,
                              kWorkspace, s), "cublasLtMatmul");
  if (bias) {
    bias_kernel<<<blocks_for(M * N, 256), 256, 0, s>>>(out, bias, bt, M, N);
    check_launch("linear bias");
  }
}

}  // namespace anatomy::cuda
