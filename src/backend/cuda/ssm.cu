// Mamba2 selective scan, recurrent form. A block holds one (batch, head) and 8 of its P rows, a
// warp per row, each lane ⌈N/32⌉ of the row's N state entries in registers. Steps go in chunks
// of 16: the block first stages the chunk's B, C, Δ and decays in shared memory (one global
// read per step for all its rows), then each warp walks the chunk from shared memory, keeping
// one partial y per step, and sums them over the warp after the chunk — so the sequential chain
// per step is a few FMAs, not a round trip to device memory. Prefill and decode use it alike (the
// chunked SSD form is the CPU's ssd_chunked.cpp; not yet on the GPU).
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

}  // namespace

int64_t max_state_size() { return 32 * kMaxPerLane; }

void ssm_scan(const float* x, const float* dt, const void* A, Elem At, const float* Bm, const float* Cm, const void* D,
              Elem Dt, const ScanShape& sh, float* state, float* out, cudaStream_t s) {
  if (sh.B * sh.H * sh.P == 0) return;
  if (sh.B * sh.T * sh.H * sh.P > INT32_MAX || sh.B * sh.T * sh.G * sh.N > INT32_MAX)
    fail(ErrorKind::unsupported, "[ssm_scan] the CUDA kernel takes fewer than 2^31 elements per tensor");
  const int per_lane = static_cast<int>((sh.N + 31) / 32);
  if (per_lane <= 1) return launch_scan<1>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
  if (per_lane <= 2) return launch_scan<2>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
  if (per_lane <= 4) return launch_scan<4>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
  launch_scan<8>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out, s);
}

}  // namespace anatomy::cuda
