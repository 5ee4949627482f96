// The engine's own prefill GEMM, y[M, N] = x[M, K]·Wᵀ, on weights packed once into panels of 16
// output columns (BLIS's layout): per k, the 16 weights of a panel are one contiguous 64-byte row,
// so the microkernel streams a panel with two aligned loads per k. The input is packed per call
// into micro-panels of up to 6 rows (per k, 6 contiguous floats to broadcast). The 6 × 16 tile of C lives
// in 12 ymm accumulators: 12 FMAs per 2 loads + 6 broadcasts, enough independent chains to keep
// both FMA pipes of a Zen or Intel core busy (bench_gemm_sweep 8192 2048: 219–223 GFLOP/s at M =
// 128 on 2 Zen 4 cores held to AVX2, against 192–194 for oneDNN 2.6 and 186–187 for OpenBLAS there).
// Projections of one input share one pass (the input packed once, all their panels in one parallel
// loop), and a gated MLP's gate and up panels meet in the epilogue: act(gate) ⊙ up leaves the tile.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/cpu/avx2.h"
#include "backend/cpu/gemm_kernels.h"
#include "backend/cpu/kernels.h"

namespace anatomy::cpu {
namespace {

constexpr int64_t kRows = 6;       // MR: rows of C per microkernel
constexpr int64_t kDepth = 256;    // KC: a panel's 256 × 16 floats (16 KiB) stay in L1 across the rows
constexpr int64_t kRowBlock = 192; // MC: 32 tiles, ≤ 192 rows × KC of packed input (192 KiB), stay in L2
constexpr int64_t kGroup = 4;      // panels a thread takes at a time (see run_panels)

// C[R, 16] (+)= A[R, kc]·B[kc, 16]; a: kc steps of kRows floats, b: kc steps of 16 floats.
// Named accumulators, not an array: GCC 12 keeps an array of __m256 on the stack. ahead (unless
// null): the weights' next block is fetched from there, a 64-byte line every `every` k (see Ahead).
template <int R>
__attribute__((target("avx2,fma"))) void tile(const float* a, const float* b, int64_t kc, float* c, int64_t ldc,
                                              bool accumulate, const float* ahead, int64_t every) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define ANATOMY_ROW(r)                                       \
  if constexpr (R > r) {                                     \
    const __m256 av = _mm256_broadcast_ss(a + r);            \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);              \
    c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);              \
  }
  // Unrolled by 4: fewer loop adds and branches per FMA (bench/RESULTS.md, stop 26: M = 128 on
  // 2 Zen 4 cores held to AVX2, 184–210 → 200–212 GFLOP/s over five alternating rounds).
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k, a += kRows, b += kPanel) {
    if (ahead && (k & (every - 1)) == 0) {
      _mm_prefetch(reinterpret_cast<const char*>(ahead), _MM_HINT_T0);
      ahead += kPanel;
    }
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    ANATOMY_ROW(0) ANATOMY_ROW(1) ANATOMY_ROW(2) ANATOMY_ROW(3) ANATOMY_ROW(4) ANATOMY_ROW(5)
  }
#undef ANATOMY_ROW
#define ANATOMY_OUT(r)                                                       \
  if constexpr (R > r) {                                                     \
    float* cr = c + (r)*ldc;                                                 \
    if (accumulate) {                                                        \
      c##r##0 = _mm256_add_ps(c##r##0, _mm256_loadu_ps(cr));                 \
      c##r##1 = _mm256_add_ps(c##r##1, _mm256_loadu_ps(cr + 8));             \
    }                                                                        \
    _mm256_storeu_ps(cr, c##r##0);                                           \
    _mm256_storeu_ps(cr + 8, c##r##1);                                       \
  }
  ANATOMY_OUT(0) ANATOMY_OUT(1) ANATOMY_OUT(2) ANATOMY_OUT(3) ANATOMY_OUT(4) ANATOMY_OUT(5)
#undef ANATOMY_OUT
}

using Tile = void (*)(const float*, const float*, int64_t, float*, int64_t, bool, const float*, int64_t);
constexpr Tile kTiles[kRows + 1] = {nullptr, tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};

// The rows of C each microkernel call takes, in order: 6, except that a remainder of 1–3 rows
// borrows from the last 6 (7 → 4 + 3, 8 → 4 + 4, 9 → 5 + 4). A tile of R rows keeps 2R FMA chains
// in flight; with 2 or fewer rows it falls below the FMA latency × pipes and runs at half rate or
// less (M = 128 = 21 × 6 + 2 would end on such a tile).
struct RowTile {
  int64_t row, rows;
};
std::vector<RowTile> row_tiles(int64_t M) {
  std::vector<int64_t> sizes(static_cast<size_t>(M / kRows), kRows);
  const int64_t rest = M % kRows;
  if (rest > 0 && rest <= 3 && !sizes.empty()) {
    sizes.back() = (kRows + rest + 1) / 2;
    sizes.push_back(kRows + rest - sizes.back());
  } else if (rest > 0) {
    sizes.push_back(rest);
  }
  std::vector<RowTile> tiles;
  int64_t row = 0;
  for (int64_t n : sizes) tiles.push_back({row, n}), row += n;
  return tiles;
}

// A tile's rows of x as a kRows-wide micro-panel: element (row + r, k) at 6k + r, rows past the
// tile zero.
void pack_input(const float* x, int64_t K, const RowTile& t, float* d) {
  for (int64_t k = 0; k < K; ++k)
    for (int64_t r = 0; r < kRows; ++r) d[k * kRows + r] = r < t.rows ? x[(t.row + r) * K + k] : 0.0f;
}

// Rows [n0, n0 + 16) of a [N, K] weight, widened to f32 and interleaved by k (zero past N).
template <DType D>
__attribute__((target("avx2,fma,f16c"))) void pack_panel(const Tensor& w, int64_t N, int64_t K, int64_t n0, float* dst) {
  constexpr int64_t kStep = 64;
  alignas(32) float rows[kPanel][kStep];
  const size_t elem = D == DType::F32 ? 4 : 2;
  for (int64_t k0 = 0; k0 < K; k0 += kStep) {
    const int64_t kb = std::min(kStep, K - k0);
    for (int64_t j = 0; j < kPanel; ++j) {
      const int64_t n = n0 + j;
      if (n >= N) {
        std::fill_n(rows[j], kb, 0.0f);
        continue;
      }
      const std::byte* row = w.raw() + static_cast<size_t>(n * K + k0) * elem;
      int64_t k = 0;
      for (; k + 8 <= kb; k += 8) _mm256_store_ps(rows[j] + k, avx2::widen8<D>(row, k));
      for (; k < kb; ++k) rows[j][k] = load(w, static_cast<uint64_t>(n * K + k0 + k));
    }
    for (int64_t k = 0; k < kb; ++k)
      for (int64_t j = 0; j < kPanel; ++j) dst[(k0 + k) * kPanel + j] = rows[j][k];
  }
}

// The same panel from a weight stored [K, N] (GPT-2's Conv1D): per k the 16 columns are already
// contiguous.
template <DType D>
__attribute__((target("avx2,fma,f16c"))) void pack_panel_in_out(const Tensor& w, int64_t N, int64_t K, int64_t n0,
                                                                float* dst) {
  const int64_t cols = std::min(kPanel, N - n0);
  for (int64_t k = 0; k < K; ++k) {
    float* d = dst + k * kPanel;
    if (cols == kPanel) {
      _mm256_storeu_ps(d, avx2::widen8<D>(w.raw(), k * N + n0));
      _mm256_storeu_ps(d + 8, avx2::widen8<D>(w.raw(), k * N + n0 + 8));
    } else {
      for (int64_t j = 0; j < kPanel; ++j) d[j] = j < cols ? load(w, static_cast<uint64_t>(k * N + n0 + j)) : 0.0f;
    }
  }
}

}  // namespace

int64_t packed_weight_floats(int64_t N, int64_t K) { return (N + kPanel - 1) / kPanel * kPanel * K; }

void pack_weight_avx2(const Tensor& w, int64_t N, int64_t K, bool in_out, float* dst) {
  const int64_t panels = (N + kPanel - 1) / kPanel;
  const DType d = w.dtype();
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < panels; ++p) {
    float* out = dst + p * kPanel * K;
    const int64_t n0 = p * kPanel;
    if (in_out) {
      if (d == DType::F32) pack_panel_in_out<DType::F32>(w, N, K, n0, out);
      else if (d == DType::BF16) pack_panel_in_out<DType::BF16>(w, N, K, n0, out);
      else pack_panel_in_out<DType::F16>(w, N, K, n0, out);
    } else if (d == DType::F32) {
      pack_panel<DType::F32>(w, N, K, n0, out);
    } else if (d == DType::BF16) {
      pack_panel<DType::BF16>(w, N, K, n0, out);
    } else {
      pack_panel<DType::F16>(w, N, K, n0, out);
    }
  }
}

namespace {

// One work item of the driver: 16 output columns, from one weight's packed panel (or, gated, from
// a gate and an up panel combined in the epilogue).
struct Panel {
  const float* b;
  const float* b_up;  // gated: the up weight's panel; nullptr otherwise
  float* out;         // the output's column n0, row 0
  int64_t ldc, cols;  // the output's row stride; columns of this panel (≤ 16)
};

// The weights' next depth block (one 64-byte line a k) is fetched into L1 by the tiles of the
// current one, a share each, spread over their k loops. Without it the first tile of every block
// waits on memory for its 16 KiB: the hardware prefetchers do not run that far ahead of a stream
// read in bursts (bench/RESULTS.md, stop 32: 128 × 8192 × 2048 on one Zen 4 core held to AVX2,
// 106 → 111 GFLOP/s of its 117; the whole Llama-3.2-1B-shaped f32 prefill +3.5 %).
struct Ahead {
  const float* next;   // the next block (null: none)
  int64_t next_lines;  // its lines
  int64_t every = 1;   // k steps per line: a power of two, at most 16 so that the block arrives early
  int64_t lines;       // lines per tile
  Ahead(const float* next, int64_t next_lines, int64_t kc, int64_t tiles) : next(next), next_lines(next_lines) {
    while (every < 16 && 2 * every * next_lines <= kc * tiles) every *= 2;
    lines = (kc + every - 1) / every;
  }
  // Tile i's share of the next block, or null.
  const float* share(int64_t i) const { return next && i * lines < next_lines ? next + i * lines * kPanel : nullptr; }
};

// Rows of tiles [t0, t1) times one packed panel, over all of K, into c (row 0 = the block's first).
// next: the panel this thread multiplies after this one (its first block is fetched ahead), or null.
void multiply(const float* a, const std::vector<RowTile>& tiles, int64_t t0, int64_t t1, int64_t K, const float* b,
              float* c, int64_t ldc, const float* next) {
  const int64_t m0 = tiles[t0].row;
  for (int64_t k0 = 0; k0 < K; k0 += kDepth) {
    const int64_t kc = std::min(kDepth, K - k0);
    const bool last = k0 + kc == K;
    const Ahead ahead(last ? next : b + (k0 + kc) * kPanel, std::min(kDepth, last ? K : K - k0 - kc), kc, t1 - t0);
    for (int64_t t = t0; t < t1; ++t)
      kTiles[tiles[t].rows](a + t * kRows * K + k0 * kRows, b + k0 * kPanel, kc, c + (tiles[t].row - m0) * ldc, ldc,
                            k0 > 0, ahead.share(t - t0), ahead.every);
  }
}

// out[j] = Σ_k x[k]·b[k·16 + j], j < 16: one sequential read of the panel, x broadcast per k, four
// independent pairs of sums so that the FMAs' latency never holds the loads back.
__attribute__((target("avx2,fma"))) void dot_panel(const float* x, int64_t K, const float* b, float* out) {
  __m256 acc[4][2];
  for (auto& a : acc) a[0] = a[1] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 4 <= K; k += 4)
#pragma GCC unroll 4
    for (int u = 0; u < 4; ++u) {
      const __m256 xk = _mm256_broadcast_ss(x + k + u);
      acc[u][0] = _mm256_fmadd_ps(xk, _mm256_load_ps(b + (k + u) * kPanel), acc[u][0]);
      acc[u][1] = _mm256_fmadd_ps(xk, _mm256_load_ps(b + (k + u) * kPanel + 8), acc[u][1]);
    }
  for (; k < K; ++k) {
    const __m256 xk = _mm256_broadcast_ss(x + k);
    acc[0][0] = _mm256_fmadd_ps(xk, _mm256_load_ps(b + k * kPanel), acc[0][0]);
    acc[0][1] = _mm256_fmadd_ps(xk, _mm256_load_ps(b + k * kPanel + 8), acc[0][1]);
  }
  for (int h = 0; h < 2; ++h)
    _mm256_store_ps(out + 8 * h, _mm256_add_ps(_mm256_add_ps(acc[0][h], acc[1][h]), _mm256_add_ps(acc[2][h], acc[3][h])));
}

// One row (decode of f32 weights): the panels read as decode's half-precision ones are
// (read_panels), no input packing.
template <Activation A>
__attribute__((target("avx2,fma"))) void gemv_over_panels(const float* x, int64_t K, const std::vector<Panel>& panels) {
  read_panels(static_cast<int64_t>(panels.size()), [&](int64_t i) {
    const Panel& p = panels[static_cast<size_t>(i)];
    alignas(32) float g[kPanel], u[kPanel];
    dot_panel(x, K, p.b, g);
    if (p.b_up) {
      dot_panel(x, K, p.b_up, u);
      avx2::gate_in_place<A>(g, u, kPanel);
    }
    std::copy_n(g, p.cols, p.out);
  });
}

// The input packed once, then every panel of every output shared out among the threads: one
// parallel region however many weights the input meets. A: the gated panels' activation.
template <Activation A>
__attribute__((target("avx2,fma"))) void run_panels(const float* x, int64_t M, int64_t K, const std::vector<Panel>& panels) {
  if (M == 1) return gemv_over_panels<A>(x, K, panels);
  const std::vector<RowTile> tiles = row_tiles(M);
  const auto count = static_cast<int64_t>(tiles.size()), n_panels = static_cast<int64_t>(panels.size());
  thread_local std::vector<float> input;  // the caller's thread owns it; OpenMP threads share it
  input.resize(static_cast<size_t>(count * kRows * K));
  float* a = input.data();
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (int64_t t = 0; t < count; ++t) pack_input(x, K, tiles[t], a + t * kRows * K);
    // Partial panels and gated products go through 16-column scratches, then out.
    alignas(32) float edge[kRowBlock * kPanel], up[kRowBlock * kPanel];
    for (int64_t t0 = 0; t0 < count; t0 += kRowBlock / kRows) {
      const int64_t t1 = std::min(count, t0 + kRowBlock / kRows), m0 = tiles[t0].row;
      const int64_t mb = tiles[t1 - 1].row + tiles[t1 - 1].rows - m0;
      // Chunks of 4 panels handed out as threads free up: a core slowed by another process (a shared
      // host, a hybrid CPU's efficiency core) takes fewer (bench/RESULTS.md: +20–35 % then). Chunks
      // start at multiples of 4 (OpenMP's dynamic schedule), so within its chunk a thread knows the
      // panel that comes next and fetches its weights ahead.
#pragma omp for schedule(dynamic, kGroup) nowait
      for (int64_t i = 0; i < n_panels; ++i) {
        const Panel& p = panels[static_cast<size_t>(i)];
        const bool direct = !p.b_up && p.cols == kPanel;
        const float* next = (i + 1) % kGroup != 0 && i + 1 < n_panels ? panels[static_cast<size_t>(i + 1)].b : nullptr;
        multiply(a, tiles, t0, t1, K, p.b, direct ? p.out + m0 * p.ldc : edge, direct ? p.ldc : kPanel,
                 p.b_up ? p.b_up : next);
        if (p.b_up) {
          multiply(a, tiles, t0, t1, K, p.b_up, up, kPanel, next);
          avx2::gate_in_place<A>(edge, up, mb * kPanel);
        }
        if (!direct)
          for (int64_t r = 0; r < mb; ++r)
            std::memcpy(p.out + (m0 + r) * p.ldc, edge + r * kPanel, static_cast<size_t>(p.cols) * sizeof(float));
      }
    }
  }
}

// The panels of one [N, K] weight writing the output out[M, N].
void add_panels(std::vector<Panel>& panels, const float* packed, const float* packed_up, int64_t N, int64_t K, float* out) {
  for (int64_t n0 = 0; n0 < N; n0 += kPanel) {
    const int64_t offset = n0 * K;  // panels of 16 columns × K, one after another
    panels.push_back({packed + offset, packed_up ? packed_up + offset : nullptr, out + n0, N, std::min(kPanel, N - n0)});
  }
}

}  // namespace

void packed_gemm_avx2(const float* x, int64_t M, int64_t K, const std::vector<PackedOutput>& outputs) {
  std::vector<Panel> panels;
  for (const PackedOutput& o : outputs) add_panels(panels, o.packed, nullptr, o.N, K, o.out);
  run_panels<Activation::relu>(x, M, K, panels);  // no gated panels: the activation is not used
}

void packed_gated_gemm_avx2(const float* x, int64_t M, int64_t K, const float* gate, const float* up, int64_t N,
                            Activation act, float* out) {
  std::vector<Panel> panels;
  add_panels(panels, gate, up, N, K, out);
  // softplus has no vector form: the caller never fuses it (has_vector_form)
  with_vector_activation(act, [&](auto a) { run_panels<decltype(a)::value>(x, M, K, panels); });
}

}  // namespace anatomy::cpu
