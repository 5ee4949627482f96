// Benchmark: y[M, N] = x[M, K]·Wᵀ with W stored [N, K] (f32, as the engine keeps nn.Linear
// weights), 2 threads, for the M of decode, small batches and prefill: OpenBLAS sgemm, oneDNN
// matmul (stored layout, and weights packed once into oneDNN's preferred layout), and anatomy's
// dispatch (which picks its own kernel for small M).
// Median of 7 after 2 warm-ups; GFLOP/s = 2·M·N·K / time.
//   bench_gemm_sweep [N] [K]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backend/cpu/gemm.h"
#include "backend/device.h"

using namespace anatomy;

namespace {

template <class F>
double median_seconds(F&& f) {
  std::vector<double> t;
  for (int r = 0; r < 9; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    if (r >= 2) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t N = argc > 1 ? std::atoll(argv[1]) : 8192, K = argc > 2 ? std::atoll(argv[2]) : 2048;
  backend::apply_isa_cap();
  backend::set_threads(2);
  openblas_set_num_threads(2);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor w = Tensor::empty(DType::F32, {N, K});
  for (uint64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = u(rng);
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(eng);
  std::printf("| M | OpenBLAS sgemm | oneDNN matmul | oneDNN, weights packed once | anatomy linear | anatomy path |\n"
              "|---|---|---|---|---|---|\n");
  for (int64_t M : {1, 2, 4, 8, 16, 32, 61, 128, 512}) {
    Tensor x = Tensor::empty(DType::F32, {M, K}), y = Tensor::empty(DType::F32, {M, N});
    for (uint64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
    const double flops = 2.0 * static_cast<double>(M * N * K);
    const double blas = median_seconds([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(M), static_cast<int>(N), static_cast<int>(K),
                  1.0f, x.data<float>(), static_cast<int>(K), w.data<float>(), static_cast<int>(K), 0.0f,
                  y.data<float>(), static_cast<int>(N));
    });
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc a({M, K}, dt::f32, dnnl::memory::dims{K, 1}), b({K, N}, dt::f32, dnnl::memory::dims{1, K}),
        c({M, N}, dt::f32, dnnl::memory::dims{N, 1});
    dnnl::matmul mm(dnnl::matmul::primitive_desc(dnnl::matmul::desc(a, b, c), eng));
    dnnl::memory am(a, eng, x.data<float>()), bm(b, eng, w.data<float>()), cm(c, eng, y.data<float>());
    const double onednn = median_seconds([&] {
      mm.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
      stream.wait();
    });
    // The same matmul with the weights in the layout oneDNN prefers (format any), reordered once
    // beforehand as a load-time packing would: what a per-call strided view costs.
    const dnnl::memory::desc b_any({K, N}, dt::f32, dnnl::memory::format_tag::any);
    const dnnl::matmul::primitive_desc packed_pd(dnnl::matmul::desc(a, b_any, c), eng);
    // Whether this M wants the weights in the same layout as a 128-token prefill (one packed copy
    // per weight could then serve every M).
    const dnnl::memory::desc a128({128, K}, dt::f32, dnnl::memory::dims{K, 1}), c128({128, N}, dt::f32, dnnl::memory::dims{N, 1});
    const bool same_layout = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a128, b_any, c128), eng).weights_desc() == packed_pd.weights_desc();
    dnnl::memory packed(packed_pd.weights_desc(), eng);
    dnnl::reorder(bm, packed).execute(stream, bm, packed);
    stream.wait();
    dnnl::matmul packed_mm(packed_pd);
    const double prepacked = median_seconds([&] {
      packed_mm.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, packed}, {DNNL_ARG_DST, cm}});
      stream.wait();
    });
    const double ours = median_seconds([&] { cpu::linear_fast(x, w, nullptr, false, y); });
    const char* path = M == 1 ? "GEMV" : "oneDNN";
    std::printf("| %lld | %.1f | %.1f | %.1f%s | %.1f | %s |\n", static_cast<long long>(M), flops / blas / 1e9,
                flops / onednn / 1e9, flops / prepacked / 1e9, same_layout ? "" : " (layout ≠ M=128's)", flops / ours / 1e9, path);
  }
  return 0;
}
