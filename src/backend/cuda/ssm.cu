// Mamba2 selective scan, recurrent form. A block holds one (batch, head) and 8 of its P rows, a
// warp per row, each lane up to 8 of the row's N state entries in registers. Steps go in chunks
// of 16: the block first stages the chunk's B, C, Δ and decays in shared memory (one global
// read per step for all its rows), then each warp walks the chunk from shared memory, keeping
// one partial y per step, and sums them over the warp after the chunk — so the sequential chain
// per step is a few FMAs, not a round trip to device memory. Prefill and decode use it alike (the
// chunked SSD form is the CPU's ssd_chunked.cpp; not yet on the GPU).
#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

constexpr int kWarps = 8;    // P rows per block
constexpr int kPerLane = 8;  // N ≤ 256
constexpr int kMaxN = 32 * kPerLane;
constexpr int kChunk = 16;   // steps staged at a time

__global__ void __launch_bounds__(kWarps * 32) ssm_scan_kernel(const float* x, const float* dt, const void* A, Elem At,
                                                               const float* Bm, const float* Cm, const void* D, Elem Dt,
                                                               ScanShape sh, float* state, float* out) {
  __shared__ float Bs[kChunk][kMaxN], Cs[kChunk][kMaxN], xs[kWarps][kChunk], deltas[kChunk], decays[kChunk];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t b = blockIdx.z, h = blockIdx.y, p = static_cast<int64_t>(blockIdx.x) * kWarps + warp;
  const int64_t g = h / (sh.H / sh.G), N = sh.N;
  const bool active = p < sh.P;
  const float a = ld(A, At, h), d = ld(D, Dt, h);
  float* S = state + ((b * sh.H + h) * sh.P + (active ? p : 0)) * N;  // state [B, H, P, N]
  float s[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int64_t n = lane + 32 * i;
    s[i] = active && n < N ? S[n] : 0.0f;
  }
  for (int64_t t0 = 0; t0 < sh.T; t0 += kChunk) {
    const int steps = static_cast<int>(sh.T - t0 < kChunk ? sh.T - t0 : kChunk);
    __syncthreads();  // the previous chunk is done with the staging buffers
    for (int i = threadIdx.x; i < steps * N; i += blockDim.x) {
      const int tt = i / static_cast<int>(N), n = i % static_cast<int>(N);
      const int64_t row = ((b * sh.T + t0 + tt) * sh.G + g) * N + n;
      Bs[tt][n] = Bm[row];
      Cs[tt][n] = Cm[row];
    }
    if (threadIdx.x < steps) {
      const float delta = dt[(b * sh.T + t0 + threadIdx.x) * sh.H + h];
      deltas[threadIdx.x] = delta;
      decays[threadIdx.x] = expf(delta * a);
    }
    for (int i = threadIdx.x; i < kWarps * steps; i += blockDim.x) {
      const int w = i / steps, tt = i % steps;
      const int64_t pp = static_cast<int64_t>(blockIdx.x) * kWarps + w;
      xs[w][tt] = pp < sh.P ? x[((b * sh.T + t0 + tt) * sh.H + h) * sh.P + pp] : 0.0f;
    }
    __syncthreads();
    float part[kChunk];
#pragma unroll
    for (int tt = 0; tt < kChunk; ++tt) {
      part[tt] = 0.0f;
      if (tt < steps) {
        const float decay = decays[tt], dx = deltas[tt] * xs[warp][tt];
#pragma unroll
        for (int i = 0; i < kPerLane; ++i) {
          const int n = lane + 32 * i;
          if (n < N) {
            s[i] = decay * s[i] + dx * Bs[tt][n];
            part[tt] += s[i] * Cs[tt][n];
          }
        }
      }
    }
#pragma unroll
    for (int tt = 0; tt < kChunk; ++tt) {
      const float y = warp_sum(part[tt]);
      if (active && lane == 0 && tt < steps)
        out[((b * sh.T + t0 + tt) * sh.H + h) * sh.P + p] = y + d * xs[warp][tt];
    }
  }
  if (!active) return;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int64_t n = lane + 32 * i;
    if (n < N) S[n] = s[i];
  }
}

}  // namespace

int64_t max_state_size() { return kMaxN; }

void ssm_scan(const float* x, const float* dt, const void* A, Elem At, const float* Bm, const float* Cm, const void* D,
              Elem Dt, const ScanShape& sh, float* state, float* out, cudaStream_t s) {
  if (sh.B * sh.H * sh.P == 0) return;
  const dim3 grid(blocks_for(sh.P, kWarps), static_cast<unsigned>(sh.H), static_cast<unsigned>(sh.B));
  ssm_scan_kernel<<<grid, kWarps * 32, 0, s>>>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out);
  check_launch("ssm_scan");
}

}  // namespace anatomy::cuda
