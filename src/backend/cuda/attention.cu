// Scaled dot-product attention, flash-style: K/V are streamed through shared memory in tiles of
// 32 keys and each query row keeps a running max, sum and output (online softmax), so scores never
// reach device memory. A block holds 8 query rows of one KV head (GQA: the query heads that share
// it, and consecutive time steps), which read the same tiles. When those blocks are too few to fill
// the GPU (decode: one query row per head), the keys are split over several blocks as well.
//
// Masked keys take the score `masked_value` exactly as the CPU reference does (a finite fill such
// as −10000 still weighs in when a whole row is masked); with −inf they contribute nothing, and
// tiles past every row's causal limit are skipped.
#include <algorithm>
#include <atomic>

#include "backend/cuda/device_util.cuh"

namespace anatomy::cuda {
namespace {

std::atomic<uint64_t> g_gemm_runs{0}, g_split_runs{0};

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

// Moves a recorded causal attention to the position of this replay.
__device__ __forceinline__ void follow_position(AttentionShape& a) {
  if (a.shift && a.causal) {
    a.past += *a.shift;
    a.keys += *a.shift;
  }
}

// q · k over n elements in four independent sums (a lane's dot product is a serial chain otherwise).
__device__ __forceinline__ float dot(const float* q, const float* k, int n) {
  float d0 = 0.0f, d1 = 0.0f, d2 = 0.0f, d3 = 0.0f;
  int e = 0;
  for (; e + 4 <= n; e += 4) {
    d0 += q[e] * k[e];
    d1 += q[e + 1] * k[e + 1];
    d2 += q[e + 2] * k[e + 2];
    d3 += q[e + 3] * k[e + 3];
  }
  for (; e < n; ++e) d0 += q[e] * k[e];
  return (d0 + d1) + (d2 + d3);
}

// Row (b, t, h) of the output's partial results, split-K: [max, sum, output[hd]] per split.
__device__ __forceinline__ float* partial_row(float* part, const AttentionShape& a, int64_t b, int64_t t, int64_t h,
                                              int splits, int split) {
  return part + (((b * a.Hq + h) * a.T + t) * splits + split) * (a.hd + 2);
}

// A block: kRows query rows of one KV head over its share of the keys. Without splits it writes
// the normalised output; with them (blockIdx.z = b · splits + split) each split takes a run of
// whole tiles and writes its rows' unnormalised partials for merge_kernel.
template <bool kSplit>
__global__ void attention_kernel(const float* q, const float* k, const float* v, AttentionShape a, float* out, int splits) {
  extern __shared__ float smem[];
  follow_position(a);
  const int64_t hd = a.hd, rep = a.Hq / a.Hkv, rows_per_kv = rep * a.T;
  const int hdi = static_cast<int>(hd);
  float* ks = smem;                          // [kKeys][hd + 1] (padded: lane j reads row j)
  float* vs = ks + kKeys * (hd + 1);         // [kKeys][hd]
  float* qs = vs + kKeys * hd;               // [kRows][hd]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t b = blockIdx.z / splits, g = blockIdx.y, r = static_cast<int64_t>(blockIdx.x) * kRows + warp;
  const int split = static_cast<int>(blockIdx.z % splits);
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
  // Keys that exist for this block: its split's range (each key in exactly one split).
  int64_t begin = 0, end = a.keys;
  if (kSplit) {
    const int64_t chunk = ((limit + splits - 1) / splits + kKeys - 1) / kKeys * kKeys;
    begin = min(limit, split * chunk);
    end = min(limit, begin + chunk);
    limit = end;
  }
  float m = -INFINITY, l = 0.0f, o[kMaxChunks];
  for (int c = 0; c < kMaxChunks; ++c) o[c] = 0.0f;

  for (int64_t j0 = begin; j0 < limit; j0 += kKeys) {
    __syncthreads();
    for (int i = threadIdx.x; i < kKeys * hdi; i += blockDim.x) {  // 32-bit: 64-bit division is slow here
      const int j = i / hdi, e = i - j * hdi;
      const int64_t key = j0 + j;
      const bool in = key < end;
      const int64_t at = ((b * a.stride + key) * a.Hkv + g) * hd + e;
      ks[j * (hd + 1) + e] = in ? k[at] : 0.0f;
      vs[j * hd + e] = in ? v[at] : 0.0f;
    }
    __syncthreads();
    const int64_t key = j0 + lane;
    float s = -INFINITY;  // keys past the end do not exist: weight 0
    if (key < end) {
      if (masked(a, row, b, t, key)) {
        s = a.masked_value;
      } else {
        s = dot(qs + warp * hd, ks + lane * (hd + 1), hdi) * a.scale;
      }
    }
    const float m_new = fmaxf(m, warp_max(s));
    const float corr = m_new == -INFINITY ? 1.0f : expf(m - m_new);
    const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
    l = l * corr + warp_sum(p);
    m = m_new;
    for (int c = 0; c < kMaxChunks; ++c) o[c] *= corr;
    const int keys_here = static_cast<int>(end - j0 < kKeys ? end - j0 : kKeys);
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
  float* orow = kSplit ? partial_row(out, a, b, t, h, splits, split) + 2 : out + ((b * a.T + t) * a.Hq + h) * hd;
  if (kSplit && lane == 0) {
    orow[-2] = m;
    orow[-1] = l;
  }
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    const int64_t e = lane + 32 * c;
    if (e < hd) orow[e] = kSplit ? o[c] : o[c] / l;
  }
}

// One warp per output row (b, t, h): the splits' partials rescaled to their common maximum.
__global__ void merge_kernel(const float* part, AttentionShape a, int splits, float* out) {
  const int64_t row = blockIdx.x, h = row % a.Hq, t = (row / a.Hq) % a.T, b = row / (a.Hq * a.T);
  const float* p0 = partial_row(const_cast<float*>(part), a, b, t, h, splits, 0);
  const int64_t width = a.hd + 2;
  float mx = -INFINITY;
  for (int s = 0; s < splits; ++s) mx = fmaxf(mx, p0[s * width]);
  float l = 0.0f;
  for (int s = 0; s < splits; ++s)
    if (p0[s * width] != -INFINITY) l += p0[s * width + 1] * expf(p0[s * width] - mx);
  for (int64_t e = threadIdx.x; e < a.hd; e += 32) {
    float acc = 0.0f;
    for (int s = 0; s < splits; ++s)
      if (p0[s * width] != -INFINITY) acc += p0[s * width + 2 + e] * expf(p0[s * width] - mx);
    out[row * a.hd + e] = acc / l;
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

// Splits of the keys for a grid of `blocks` blocks: about two blocks per SM, each split at least
// one tile of the cache's slots (so that the count is fixed for a cache, whatever its use).
int split_count(const AttentionShape& a, int64_t blocks) {
  static const int sms = [] {
    int device = 0, count = 0;
    ANATOMY_CUDA_CHECK(cudaGetDevice(&device));
    ANATOMY_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
    return count;
  }();
  const int64_t wanted = (2 * sms + blocks - 1) / blocks, most = a.stride / kKeys;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({wanted, most, 64})));
}

template <bool kSplit>
void launch_attention(const float* q, const float* k, const float* v, const AttentionShape& a, float* out, int splits,
                      cudaStream_t s) {
  const size_t smem = sizeof(float) * static_cast<size_t>(kKeys * (a.hd + 1) + kKeys * a.hd + kRows * a.hd);
  static size_t raised = 48 * 1024;
  if (smem > raised) {
    ANATOMY_CUDA_CHECK(cudaFuncSetAttribute(attention_kernel<kSplit>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
    raised = smem;
  }
  const dim3 grid(blocks_for(a.Hq / a.Hkv * a.T, kRows), static_cast<unsigned>(a.Hkv), static_cast<unsigned>(a.B * splits));
  attention_kernel<kSplit><<<grid, kRows * 32, smem, s>>>(q, k, v, a, out, splits);
  check_launch("attention");
}

}  // namespace

uint64_t attention_gemm_runs() { return g_gemm_runs.load(); }
uint64_t attention_split_runs() { return g_split_runs.load(); }

void attention(const float* q, const float* k, const float* v, const AttentionShape& a, float* out, cudaStream_t s) {
  if (a.B * a.T * a.Hq == 0) return;
  if (!a.shift && gemm_path(a)) return attention_gemm(q, k, v, a, out, s);
  const int64_t blocks = static_cast<int64_t>(blocks_for(a.Hq / a.Hkv * a.T, kRows)) * a.Hkv * a.B;
  const int splits = split_count(a, blocks);
  if (splits == 1) return launch_attention<false>(q, k, v, a, out, 1, s);
  const Tensor part = device_empty(DType::F32, {a.B * a.T * a.Hq * splits * (a.hd + 2)});
  launch_attention<true>(q, k, v, a, part.data<float>(), splits, s);
  merge_kernel<<<static_cast<unsigned>(a.B * a.T * a.Hq), 32, 0, s>>>(part.data<float>(), a, splits, out);
  check_launch("attention: merge splits");
  ++g_split_runs;
}

}  // namespace anatomy::cuda
