// Scaled dot-product attention, flash-style: K/V are streamed through shared memory in tiles of
// 32 keys and each query row keeps a running max, sum and output (online softmax), so scores never
// reach device memory. A block holds 8 query rows of one KV head (GQA: the query heads that share
// it, and consecutive time steps), which read the same tiles.
//
// Masked keys take the score `masked_value` exactly as the CPU reference does (a finite fill such
// as −10000 still weighs in when a whole row is masked); with −inf they contribute nothing, and
// tiles past every row's causal limit are skipped.
#include <atomic>

#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

std::atomic<uint64_t> g_gemm_runs{0};

// Whether the query at step t of batch row b is padding (its whole row is masked).
__device__ __forceinline__ bool row_masked(const AttentionShape& a, int64_t b, int64_t t) {
  return a.query_padding && a.query_padding[b * a.T + t] == 0.0f;
}

// Whether key j is hidden from that query: its row is masked, or the key is in its future
// (causal), out of its sliding window, or padding. Both attention paths use it.
__device__ __forceinline__ bool masked(const AttentionShape& a, bool row, int64_t b, int64_t t, int64_t j) {
  return row || (a.causal && j > a.past + t) || (a.window > 0 && j <= a.past + t - a.window) ||
         (a.key_padding && a.key_padding[b * a.keys + j] == 0.0f);
}

constexpr int kRows = 8;   // warps per block, one query row each
constexpr int kKeys = 32;  // keys per tile, one per lane when scoring
constexpr int kMaxChunks = 8;  // hd ≤ 256: each lane holds hd / 32 output elements

__global__ void attention_kernel(const float* q, const float* k, const float* v, AttentionShape a, float* out) {
  extern __shared__ float smem[];
  const int64_t hd = a.hd, rep = a.Hq / a.Hkv, rows_per_kv = rep * a.T;
  float* ks = smem;                          // [kKeys][hd + 1] (padded: lane j reads row j)
  float* vs = ks + kKeys * (hd + 1);         // [kKeys][hd]
  float* qs = vs + kKeys * hd;               // [kRows][hd]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t b = blockIdx.z, g = blockIdx.y, r = static_cast<int64_t>(blockIdx.x) * kRows + warp;
  const bool active = r < rows_per_kv;
  const int64_t h = g * rep + (active ? r / a.T : 0), t = active ? r % a.T : 0;
  const float* qrow = q + ((b * a.T + t) * a.Hq + h) * hd;
  for (int64_t e = lane; e < hd; e += 32) qs[warp * hd + e] = active ? qrow[e] : 0.0f;
  const bool row = row_masked(a, b, t);

  // Keys this block must visit: all of them when masked keys weigh in, else up to the last
  // causal limit of its rows.
  int64_t limit = a.keys;
  if (a.causal && isinf(a.masked_value) && a.masked_value < 0) {
    const int64_t last_row = min(rows_per_kv - 1, static_cast<int64_t>(blockIdx.x) * kRows + kRows - 1);
    int64_t tmax = 0;
    for (int64_t rr = static_cast<int64_t>(blockIdx.x) * kRows; rr <= last_row; ++rr) tmax = max(tmax, rr % a.T);
    limit = min(a.keys, a.past + tmax + 1);
  }
  float m = -INFINITY, l = 0.0f, o[kMaxChunks];
  for (int c = 0; c < kMaxChunks; ++c) o[c] = 0.0f;

  for (int64_t j0 = 0; j0 < limit; j0 += kKeys) {
    __syncthreads();
    for (int64_t i = threadIdx.x; i < kKeys * hd; i += blockDim.x) {
      const int64_t j = i / hd, e = i % hd, key = j0 + j;
      const bool in = key < a.keys;
      const int64_t at = ((b * a.stride + key) * a.Hkv + g) * hd + e;
      ks[j * (hd + 1) + e] = in ? k[at] : 0.0f;
      vs[j * hd + e] = in ? v[at] : 0.0f;
    }
    __syncthreads();
    const int64_t key = j0 + lane;
    float s = -INFINITY;  // keys past the end do not exist: weight 0
    if (key < a.keys) {
      if (masked(a, row, b, t, key)) {
        s = a.masked_value;
      } else {
        float dot = 0.0f;
        for (int64_t e = 0; e < hd; ++e) dot += qs[warp * hd + e] * ks[lane * (hd + 1) + e];
        s = dot * a.scale;
      }
    }
    const float m_new = fmaxf(m, warp_max(s));
    const float corr = m_new == -INFINITY ? 1.0f : expf(m - m_new);
    const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
    l = l * corr + warp_sum(p);
    m = m_new;
    for (int c = 0; c < kMaxChunks; ++c) o[c] *= corr;
    const int keys_here = static_cast<int>(a.keys - j0 < kKeys ? a.keys - j0 : kKeys);
    for (int j = 0; j < keys_here; ++j) {
      const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
      for (int c = 0; c < kMaxChunks; ++c) {
        const int64_t e = lane + 32 * c;
        if (e < hd) o[c] += pj * vs[j * hd + e];
      }
    }
  }
  if (!active) return;
  float* orow = out + ((b * a.T + t) * a.Hq + h) * hd;
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    const int64_t e = lane + 32 * c;
    if (e < hd) orow[e] = o[c] / l;
  }
}

// ---- prefill: S = Q K^T per KV head (batched GEMM), masked softmax, O = P V --------------------

// q [T, Hkv, rep, hd] of one batch row -> qg [Hkv, T, rep, hd], so that a KV head's query rows
// (t, r) are one matrix; `back` does the inverse for the output.
__global__ void group_heads_kernel(const float* in, float* out, int64_t T, int64_t Hkv, int64_t rep, int64_t hd, bool back) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= T * Hkv * rep * hd) return;
  const int64_t e = i % hd, r = (i / hd) % rep, g = (i / (hd * rep)) % Hkv, t = i / (hd * rep * Hkv);  // i in [T, Hkv, rep, hd]
  const int64_t grouped = ((g * T + t) * rep + r) * hd + e;
  if (back) out[i] = in[grouped];
  else out[grouped] = in[i];
}

// One block per score row (g, t, r): the reference's semantics — masked keys score masked_value,
// the row is scaled, max-subtracted, exponentiated and normalised in place.
__global__ void masked_softmax_kernel(float* S, AttentionShape a, int64_t b, int64_t rep) {
  const int64_t row = blockIdx.x, keys = a.keys;
  const int64_t t = (row / rep) % a.T;
  float* z = S + row * keys;
  const bool padded = row_masked(a, b, t);
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < keys; j += blockDim.x) {
    const float v = masked(a, padded, b, t, j) ? a.masked_value : z[j] * a.scale;
    z[j] = v;
    mx = fmaxf(mx, v);
  }
  mx = block_max(mx);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < keys; j += blockDim.x) sum += (z[j] = expf(z[j] - mx));
  const float inv = 1.0f / block_sum(sum);
  for (int64_t j = threadIdx.x; j < keys; j += blockDim.x) z[j] *= inv;
}

constexpr int64_t kMaxScoreBytes = int64_t{1} << 30;

bool gemm_path(const AttentionShape& a) {
  return a.T >= 32 && a.Hq * a.T * a.keys * 4 <= kMaxScoreBytes;
}

void attention_gemm(const float* q, const float* k, const float* v, const AttentionShape& a, float* out, cudaStream_t s) {
  const int64_t rep = a.Hq / a.Hkv, rows = a.T * rep, n = a.T * a.Hq * a.hd;
  const Tensor qg = device_empty(DType::F32, {n}), og = device_empty(DType::F32, {n});
  const Tensor scores = device_empty(DType::F32, {a.Hkv * rows * a.keys});
  float* S = scores.data<float>();
  for (int64_t b = 0; b < a.B; ++b) {
    group_heads_kernel<<<blocks_for(n, 256), 256, 0, s>>>(q + b * n, qg.data<float>(), a.T, a.Hkv, rep, a.hd, false);
    check_launch("attention: group heads");
    const float* kb = k + b * a.stride * a.Hkv * a.hd;
    const float* vb = v + b * a.stride * a.Hkv * a.hd;
    // S_g [rows, keys] = Q_g [rows, hd] · K_g^T, K_g's rows a.Hkv·hd apart, heads hd apart.
    batched_gemm_f32(qg.data<float>(), a.hd, rows * a.hd, kb, a.Hkv * a.hd, a.hd, true, S, a.keys, rows * a.keys, rows,
                     a.keys, a.hd, a.Hkv, s);
    masked_softmax_kernel<<<static_cast<unsigned>(a.Hkv * rows), 256, 0, s>>>(S, a, b, rep);
    check_launch("attention: masked softmax");
    // O_g [rows, hd] = P_g [rows, keys] · V_g [keys, hd].
    batched_gemm_f32(S, a.keys, rows * a.keys, vb, a.Hkv * a.hd, a.hd, false, og.data<float>(), a.hd, rows * a.hd, rows, a.hd,
                     a.keys, a.Hkv, s);
    group_heads_kernel<<<blocks_for(n, 256), 256, 0, s>>>(og.data<float>(), out + b * n, a.T, a.Hkv, rep, a.hd, true);
    check_launch("attention: ungroup heads");
  }
  ++g_gemm_runs;
}

}  // namespace

uint64_t attention_gemm_runs() { return g_gemm_runs.load(); }

void attention(const float* q, const float* k, const float* v, const AttentionShape& a, float* out, cudaStream_t s) {
  if (a.B * a.T * a.Hq == 0) return;
  if (gemm_path(a)) return attention_gemm(q, k, v, a, out, s);
  const size_t smem = sizeof(float) * static_cast<size_t>(kKeys * (a.hd + 1) + kKeys * a.hd + kRows * a.hd);
  static size_t raised = 48 * 1024;
  if (smem > raised) {
    ANATOMY_CUDA_CHECK(cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    raised = smem;
  }
  const dim3 grid(blocks_for(a.Hq / a.Hkv * a.T, kRows), static_cast<unsigned>(a.Hkv), static_cast<unsigned>(a.B));
  attention_kernel<<<grid, kRows * 32, smem, s>>>(q, k, v, a, out);
  check_launch("attention");
}

}  // namespace anatomy::cuda
