// nn.Linear / Conv1D through cuBLASLt. Row-major out[M, N] = x[M, K] · W^T is, in cuBLAS's
// column-major terms, out^T (N × M) = op(W) · x^T: W stored [N, K] is a K × N column-major matrix
// used transposed; W stored [K, N] (w_in_out) is N × K used as is. Half-precision weights run a
// half-precision GEMM: x is rounded to the weights' type (one pass, into a scratch buffer kept
// for the stream), products accumulate and land in f32. One plan (layouts + the heuristic's
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

struct Plan {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

struct Lt {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
  void* scratch = nullptr;  // x in half precision
  size_t scratch_bytes = 0;
  std::mutex mu;
  std::map<std::tuple<int64_t, int64_t, int64_t, int, bool, int>, Plan> plans;
  std::atomic<uint64_t> runs[3] = {};

  Lt() {
    check_cublas(cublasLtCreate(&handle), "cublasLtCreate");
    ANATOMY_CUDA_CHECK(cudaMalloc(&workspace, kWorkspace));
  }

  void* half_scratch(size_t bytes) {
    if (bytes > scratch_bytes) {
      // Queued GEMMs may still read the old buffer: free it in stream order.
      if (scratch) ANATOMY_CUDA_CHECK(cudaFreeAsync(scratch, stream()));
      ANATOMY_CUDA_CHECK(cudaMallocAsync(&scratch, bytes, stream()));
      scratch_bytes = bytes;
    }
    return scratch;
  }

  // `align`: the alignment in bytes every operand pointer has (views of activations may start
  // anywhere; cuBLASLt's heuristic otherwise assumes 256).
  const Plan& plan(int64_t M, int64_t N, int64_t K, Elem wt, bool w_in_out, uint32_t align) {
    const auto key = std::make_tuple(M, N, K, static_cast<int>(wt), w_in_out, static_cast<int>(align));
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
    const cudaDataType_t ab = wt == Elem::bf16 ? CUDA_R_16BF : wt == Elem::f16 ? CUDA_R_16F : CUDA_R_32F;
    Plan p;
    check_cublas(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "MatmulDescCreate");
    const cublasOperation_t ta = w_in_out ? CUBLAS_OP_N : CUBLAS_OP_T, tb = CUBLAS_OP_N;
    check_cublas(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta), "TRANSA");
    check_cublas(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb), "TRANSB");
    if (w_in_out) check_cublas(cublasLtMatrixLayoutCreate(&p.a, ab, N, K, N), "layout W");
    else check_cublas(cublasLtMatrixLayoutCreate(&p.a, ab, K, N, K), "layout W");
    check_cublas(cublasLtMatrixLayoutCreate(&p.b, ab, K, M, K), "layout x");
    check_cublas(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, N, M, N), "layout out");
    cublasLtMatmulPreference_t pref = nullptr;
    check_cublas(cublasLtMatmulPreferenceCreate(&pref), "PreferenceCreate");
    check_cublas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &kWorkspace,
                                                      sizeof kWorkspace), "workspace preference");
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      check_cublas(cublasLtMatmulPreferenceSetAttribute(pref, attr, &align, sizeof align), "alignment preference");
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    check_cublas(cublasLtMatmulAlgoGetHeuristic(handle, p.op, p.a, p.b, p.c, p.c, pref, 1, &result, &found), "AlgoGetHeuristic");
    cublasLtMatmulPreferenceDestroy(pref);
    if (found == 0) fail(ErrorKind::internal, "cuBLASLt has no algorithm for this GEMM");
    p.algo = result.algo;
    return plans.emplace(key, p).first->second;
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

__global__ void bias_kernel(float* out, const void* bias, Elem bt, int64_t M, int64_t N) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < M * N) out[i] += ld(bias, bt, i % N);
}

}  // namespace

uint64_t gemm_runs(Elem wt) { return lt().runs[static_cast<int>(wt)].load(); }

// The largest power of two up to 256 that divides every address.
static uint32_t alignment(std::initializer_list<const void*> pointers) {
  uintptr_t bits = 256;
  for (const void* p : pointers) bits |= reinterpret_cast<uintptr_t>(p);
  return static_cast<uint32_t>(bits & (~bits + 1));
}

void linear(const float* x, const void* w, Elem wt, const void* bias, Elem bt, bool w_in_out, int64_t M, int64_t N,
            int64_t K, float* out, cudaStream_t s) {
  if (M * N == 0) return;
  Lt& l = lt();
  std::lock_guard<std::mutex> lock(l.mu);
  const void* xb = x;
  if (wt != Elem::f32) {
    void* h = l.half_scratch(static_cast<size_t>(M * K) * 2);
    if (wt == Elem::bf16) round_kernel<<<blocks_for(M * K, 256), 256, 0, s>>>(x, M * K, static_cast<__nv_bfloat16*>(h));
    else round_kernel<<<blocks_for(M * K, 256), 256, 0, s>>>(x, M * K, static_cast<__half*>(h));
    check_launch("round to half precision");
    xb = h;
  }
  const Plan& p = l.plan(M, N, K, wt, w_in_out, alignment({xb, w, out}));
  const float one = 1.0f, zero = 0.0f;
  check_cublas(cublasLtMatmul(l.handle, p.op, &one, w, p.a, xb, p.b, &zero, out, p.c, out, p.c, &p.algo, l.workspace,
                              kWorkspace, s), "cublasLtMatmul");
  ++l.runs[static_cast<int>(wt)];
  if (bias) {
    bias_kernel<<<blocks_for(M * N, 256), 256, 0, s>>>(out, bias, bt, M, N);
    check_launch("linear bias");
  }
}

}  // namespace anatomy::cuda
