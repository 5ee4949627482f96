// Mamba2 selective scan, recurrent form. A block holds one (batch, head) and 8 of its P rows, a
// warp per row, each lane ⌈N/32⌉ of the row's N state entries in registers. Steps go in chunks
// of 16: the block first stages the chunk's B, C, Δ and decays in shared memory (one global
// read per step for all its rows), then each warp walks the chunk from shared memory, keeping
// one partial y per step, and sums them over the warp after the chunk — so the sequential chain
// per step is a few FMAs, not a round trip to device memory. Decode and short passes use it.
//
// Prefill (T ≥ kSsdMinSteps) uses the chunked SSD form instead (the algebra of the CPU's
// ssd_chunked.cpp): a block per (batch, head) keeps the head's P×N state in shared memory and,
// chunk by chunk of kSsdChunk steps, forms the masked L×L matrix W = (C Bᵀ) ∘ exp(c_i − c_j)·Δ_j,
// the outputs W·x plus the carried state read through C, and the new state — dense products over
// the whole chunk in parallel, where the recurrence walks the steps one by one.
#include <atomic>
#include <climits>

#include "backend/cuda/device_util.cuh"
#include "core/error.h"

namespace anatomy::cuda {
namespace {

constexpr int kWarps = 8;   // P rows per block
constexpr int kMaxPerLane = 8;  // N ≤ 256
constexpr int kChunk = 16;  // steps staged at a time

// kPerLane = ⌈N / 32⌉ state entries per lane, fixed at compile time so that no lane issues work
// for entries past N (at N = 128, half of a generic 8-entry loop would be predicated off). Index
// arithmetic is 32-bit: every extent of one scan fits (the launcher checks).
template <int kPerLane>
__global__ void __launch_bounds__(kWarps * 32, 4) ssm_scan_kernel(const float* x, const float* dt, const void* A, Elem At,
                                                               const float* Bm, const float* Cm, const void* D, Elem Dt,
                                                               ScanShape sh, float* state, float* out) {
  extern __shared__ float staged[];
  const int N = static_cast<int>(sh.N), T = static_cast<int>(sh.T), H = static_cast<int>(sh.H), P = static_cast<int>(sh.P),
            G = static_cast<int>(sh.G);
  float* Bs = staged;               // [kChunk][N]
  float* Cs = Bs + kChunk * N;      // [kChunk][N]
  float* xs = Cs + kChunk * N;      // [kWarps][kChunk]
  float* deltas = xs + kWarps * kChunk;  // [kChunk]
  float* decays = deltas + kChunk;       // [kChunk]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int b = blockIdx.z, h = blockIdx.y, p = blockIdx.x * kWarps + warp;
  const int g = h / (H / G);
  const bool active = p < P;
  const float a = ld(A, At, h), d = ld(D, Dt, h);
  float* S = state + ((static_cast<int64_t>(b) * H + h) * P + (active ? p : 0)) * N;  // state [B, H, P, N]
  float s[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int n = lane + 32 * i;
    s[i] = active && n < N ? S[n] : 0.0f;
  }
  for (int t0 = 0; t0 < T; t0 += kChunk) {
    const int steps = T - t0 < kChunk ? T - t0 : kChunk;
    __syncthreads();  // the previous chunk is done with the staging buffers
    for (int i = threadIdx.x; i < steps * N; i += blockDim.x) {
      const int tt = i / N, n = i - tt * N;
      const int64_t row = ((static_cast<int64_t>(b) * T + t0 + tt) * G + g) * N + n;
      Bs[tt * N + n] = Bm[row];
      Cs[tt * N + n] = Cm[row];
    }
    if (threadIdx.x < steps) {
      const float delta = dt[(static_cast<int64_t>(b) * T + t0 + threadIdx.x) * H + h];
      deltas[threadIdx.x] = delta;
      decays[threadIdx.x] = expf(delta * a);
    }
    for (int i = threadIdx.x; i < kWarps * steps; i += blockDim.x) {
      const int w = i / steps, tt = i - w * steps, pp = blockIdx.x * kWarps + w;
      xs[w * kChunk + tt] = pp < P ? x[((static_cast<int64_t>(b) * T + t0 + tt) * H + h) * P + pp] : 0.0f;
    }
    __syncthreads();
    float part[kChunk];
#pragma unroll
    for (int tt = 0; tt < kChunk; ++tt) {
      part[tt] = 0.0f;
      if (tt < steps) {
        const float decay = decays[tt], dx = deltas[tt] * xs[warp * kChunk + tt];
#pragma unroll
        for (int i = 0; i < kPerLane; ++i) {
          const int n = lane + 32 * i;
          const float bn = n < N ? Bs[tt * N + n] : 0.0f, cn = n < N ? Cs[tt * N + n] : 0.0f;
          s[i] = decay * s[i] + dx * bn;
          part[tt] += s[i] * cn;
        }
      }
    }
#pragma unroll
    for (int tt = 0; tt < kChunk; ++tt) {
      const float y = warp_sum(part[tt]);
      if (active && lane == 0 && tt < steps)
        out[((static_cast<int64_t>(b) * T + t0 + tt) * H + h) * P + p] = y + d * xs[warp * kChunk + tt];
    }
  }
  if (!active) return;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int n = lane + 32 * i;
    if (n < N) S[n] = s[i];
  }
}

template <int kPerLane>
void launch_scan(const float* x, const float* dt, const void* A, Elem At, const float* Bm, const float* Cm, const void* D,
                 Elem Dt, const ScanShape& sh, float* state, float* out, cudaStream_t s) {
  const size_t smem = sizeof(float) * static_cast<size_t>(2 * kChunk * sh.N + kWarps * kChunk + 2 * kChunk);
  static bool raised = false;
  if (smem > 48 * 1024 && !raised) {
    ANATOMY_CUDA_CHECK(cudaFuncSetAttribute(ssm_scan_kernel<kPerLane>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    raised = true;
  }
  const dim3 grid(blocks_for(sh.P, kWarps), static_cast<unsigned>(sh.H), static_cast<unsigned>(sh.B));
  ssm_scan_kernel<kPerLane><<<grid, kWarps * 32, smem, s>>>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out);
  check_launch("ssm_scan");
}

constexpr int kSsdChunk = 32;
constexpr int kSsdThreads = 512;
constexpr int64_t kSsdMinSteps = 16;

// Shared memory of the SSD kernel, in floats: S and B [·][N + 1] (padded: threads reading one n of
// different rows hit different banks), C [L][N], x [L][P], W [L][L], c, Δ and f [L].
int64_t ssd_floats(int64_t P, int64_t N) {
  return P * (N + 1) + kSsdChunk * (N + 1) + kSsdChunk * N + kSsdChunk * P + kSsdChunk * kSsdChunk + 3 * kSsdChunk;
}

__global__ void __launch_bounds__(kSsdThreads) ssd_kernel(const float* x, const float* dt, const void* A, Elem At,
                                                         const float* Bm, const float* Cm, const void* D, Elem Dt,
                                                         ScanShape sh, float* state, float* out) {
  extern __shared__ float smem[];
  const int T = static_cast<int>(sh.T), H = static_cast<int>(sh.H), P = static_cast<int>(sh.P), N = static_cast<int>(sh.N),
            G = static_cast<int>(sh.G);
  const int b = blockIdx.y, h = blockIdx.x, g = h / (H / G), tid = threadIdx.x, NS = N + 1;
  float* S = smem;                        // [P][N + 1]
  float* Bc = S + P * NS;                 // [L][N + 1]
  float* Cc = Bc + kSsdChunk * NS;        // [L][N]
  float* xc = Cc + kSsdChunk * N;         // [L][P]
  float* W = xc + kSsdChunk * P;          // [L][L]
  float* c = W + kSsdChunk * kSsdChunk;   // [L]: cumulative Δ·A
  float* dtc = c + kSsdChunk;             // [L]
  float* f = dtc + kSsdChunk;             // [L]: exp(c_L − c_j)·Δ_j, B_j's weight in the new state
  const float a = ld(A, At, h), d = ld(D, Dt, h);
  float* Sg = state + (static_cast<int64_t>(b) * H + h) * P * N;
  for (int k = tid; k < P * N; k += kSsdThreads) S[(k / N) * NS + k % N] = Sg[k];
  for (int t0 = 0; t0 < T; t0 += kSsdChunk) {
    const int L = T - t0 < kSsdChunk ? T - t0 : kSsdChunk;
    __syncthreads();  // the previous chunk is done with B, C, x, W
    for (int k = tid; k < L * N; k += kSsdThreads) {
      const int i = k / N, n = k - i * N;
      const int64_t row = ((static_cast<int64_t>(b) * T + t0 + i) * G + g) * N + n;
      Bc[i * NS + n] = Bm[row];
      Cc[k] = Cm[row];
    }
    for (int k = tid; k < L * P; k += kSsdThreads) {
      const int i = k / P, p = k - i * P;
      xc[k] = x[((static_cast<int64_t>(b) * T + t0 + i) * H + h) * P + p];
    }
    if (tid < L) dtc[tid] = dt[(static_cast<int64_t>(b) * T + t0 + tid) * H + h];
    __syncthreads();
    if (tid == 0) {  // in step order, as the CPU's chunked form sums
      float acc = 0.0f;
      for (int i = 0; i < L; ++i) c[i] = acc += dtc[i] * a;
      for (int j = 0; j < L; ++j) f[j] = expf(c[L - 1] - c[j]) * dtc[j];
    }
    __syncthreads();
    // W[i][j] = (C_i · B_j)·exp(c_i − c_j)·Δ_j for j ≤ i
    for (int k = tid; k < L * L; k += kSsdThreads) {
      const int i = k / L, j = k - i * L;
      float w = 0.0f;
      if (j <= i) {
        float dot = 0.0f;
        for (int n = 0; n < N; ++n) dot += Cc[i * N + n] * Bc[j * NS + n];
        w = dot * expf(c[i] - c[j]) * dtc[j];
      }
      W[i * kSsdChunk + j] = w;
    }
    __syncthreads();
    // y_i = exp(c_i)·(C_i · S_p) + d·x_i + Σ_{j≤i} W[i][j]·x_j  (the state before this chunk)
    for (int k = tid; k < L * P; k += kSsdThreads) {
      const int i = k / P, p = k - i * P;
      float v = 0.0f;
      for (int n = 0; n < N; ++n) v += Cc[i * N + n] * S[p * NS + n];
      float y = expf(c[i]) * v + d * xc[k];
      for (int j = 0; j <= i; ++j) y += W[i * kSsdChunk + j] * xc[j * P + p];
      out[((static_cast<int64_t>(b) * T + t0 + i) * H + h) * P + p] = y;
    }
    __syncthreads();
    // S ← exp(c_L)·S + Σ_j exp(c_L − c_j)·Δ_j·x_j ⊗ B_j
    const float decay_all = expf(c[L - 1]);
    for (int k = tid; k < P * N; k += kSsdThreads) {
      const int p = k / N, n = k - p * N;
      float v = decay_all * S[p * NS + n];
      for (int j = 0; j < L; ++j) v += f[j] * xc[j * P + p] * Bc[j * NS + n];
      S[p * NS + n] = v;
    }
  }
  __syncthreads();
  for (int k = tid; k < P * N; k += kSsdThreads) Sg[k] = S[(k / N) * NS + k % N];
}

// Whether the SSD kernel runs this scan: a prefill whose head fits the block's shared memory.
bool ssd_path(const ScanShape& sh) {
  static const int64_t most = [] {
    int device = 0, bytes = 0;
    ANATOMY_CUDA_CHECK(cudaGetDevice(&device));
    ANATOMY_CUDA_CHECK(cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
    return static_cast<int64_t>(bytes);
  }();
  return sh.T >= kSsdMinSteps && ssd_floats(sh.P, sh.N) * 4 <= most;
}

std::atomic<uint64_t> g_ssd_runs{0};

}  // namespace

int64_t max_state_size() { return 32 * kMaxPerLane; }
uint64_t ssd_runs() { return g_ssd_runs.load(); }

void ssm_scan(const float* x, const float* dt, const void* A, Elem At, const float* Bm, const float* Cm, const void* D,
              Elem Dt, const ScanShape& sh, float* state, float* out, cudaStream_t s) {
  if (sh.B * sh.H * sh.P == 0) return;
  if (sh.B * sh.T * sh.H * sh.P > INT32_MAX || sh.B * sh.T * sh.G * sh.N > INT32_MAX)
    fail(ErrorKind::unsupported, "[ssm_scan] the CUDA kernel takes fewer than 2^31 elements per tensor");
  if (ssd_path(sh)) {
    const size_t smem = static_cast<size_t>(ssd_floats(sh.P, sh.N)) * 4;
    static size_t raised = 48 * 1024;
    if (smem > raised) {
      ANATOMY_CUDA_CHECK(cudaFuncSetAttribute(ssd_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
      raised = smem;
    }
    ssd_kernel<<<dim3(static_cast<unsigned>(sh.H), static_cast<unsigned>(sh.B)), kSsdThreads, smem, s>>>(
        x, dt, A, At, Bm, Cm, D, Dt, sh, state, out);
    check_launch("ssm_scan (chunked)");
    ++g_ssd_runs;
    return;
  }
  const int per_lane = static_cast<int>((sh.N + 31) / 32);
  if (per_lane <= 1) return launch_scan<1>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
  if (per_lane <= 2) return launch_scan<2>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
  if (per_lane <= 4) return launch_scan<4>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
  launch_scan<8>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
}

}  // namespace anatomy::cuda
