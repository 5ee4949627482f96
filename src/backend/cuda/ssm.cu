// Mamba2 selective scan, recurrent form: a warp owns one (batch, head, p) row of the state, each
// lane up to 8 of its N state entries in registers; per step a warp sum gives y. B and C rows
// are read by the lanes side by side (coalesced). Prefill walks the steps in order too (the
// chunked SSD form is the CPU's ssd_chunked.cpp; not yet on the GPU).
#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kPerLane = 8;  // N ≤ 256

__global__ void ssm_scan_kernel(const float* x, const float* dt, const void* A, Elem At, const float* Bm, const float* Cm,
                                const void* D, Elem Dt, ScanShape sh, float* state, float* out) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;  // (b, h, p)
  if (row >= sh.B * sh.H * sh.P) return;
  const int64_t p = row % sh.P, h = (row / sh.P) % sh.H, b = row / (sh.P * sh.H), g = h / (sh.H / sh.G);
  const float a = ld(A, At, h), d = ld(D, Dt, h);
  float* S = state + row * sh.N;  // state [B, H, P, N]: rows are (b, h, p)
  float s[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int64_t n = lane + 32 * i;
    s[i] = n < sh.N ? S[n] : 0.0f;
  }
  for (int64_t t = 0; t < sh.T; ++t) {
    const float delta = dt[(b * sh.T + t) * sh.H + h], decay = expf(delta * a);
    const float xv = x[((b * sh.T + t) * sh.H + h) * sh.P + p];
    const float* Bs = Bm + ((b * sh.T + t) * sh.G + g) * sh.N;
    const float* Cs = Cm + ((b * sh.T + t) * sh.G + g) * sh.N;
    float acc = 0.0f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int64_t n = lane + 32 * i;
      if (n < sh.N) {
        s[i] = decay * s[i] + delta * xv * Bs[n];
        acc += s[i] * Cs[n];
      }
    }
    acc = warp_sum(acc);
    if (lane == 0) out[((b * sh.T + t) * sh.H + h) * sh.P + p] = acc + d * xv;
  }
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int64_t n = lane + 32 * i;
    if (n < sh.N) S[n] = s[i];
  }
}

}  // namespace

int64_t max_state_size() { return 32 * kPerLane; }

void ssm_scan(const float* x, const float* dt, const void* A, Elem At, const float* Bm, const float* Cm, const void* D,
              Elem Dt, const ScanShape& sh, float* state, float* out, cudaStream_t s) {
  const int64_t rows = sh.B * sh.H * sh.P;
  if (rows == 0) return;
  ssm_scan_kernel<<<blocks_for(rows, kWarps), kWarps * 32, 0, s>>>(x, dt, A, At, Bm, Cm, D, Dt, sh, state, out);
  check_launch("ssm_scan");
}

}  // namespace anatomy::cuda
