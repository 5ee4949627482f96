#include "backend/cpu/gemm.h"

#include <cpuid.h>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <omp.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "backend/cpu/gemm_kernels.h"
#include "backend/cpu/kernels.h"
#include "backend/device.h"
#include "core/half.h"

namespace anatomy::cpu {
namespace {

// ---- large M: oneDNN matmul ------------------------------------------------------------------

struct Dnnl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mu;
  // (M, N, K, ldc, W stored [K, N]) -> primitive
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>, dnnl::matmul> cache;

  dnnl::matmul& get(int64_t M, int64_t N, int64_t K, int64_t ldc, bool w_in_out) {
    std::lock_guard<std::mutex> lock(mu);
    auto key = std::make_tuple(M, N, K, ldc, w_in_out);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc a({M, K}, dt::f32, dnnl::memory::dims{K, 1});
    // nn.Linear's [N, K] viewed as the K×N operand: element (k, n) at n·K + k.
    const dnnl::memory::desc b({K, N}, dt::f32, w_in_out ? dnnl::memory::dims{N, 1} : dnnl::memory::dims{1, K});
    const dnnl::memory::desc c({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine);
    return cache.emplace(key, dnnl::matmul(pd)).first->second;
  }

  void run(const float* x, const float* w, float* out, int64_t M, int64_t N, int64_t K, int64_t ldc, bool w_in_out) {
    auto& mm = get(M, N, K, ldc, w_in_out);
    using dt = dnnl::memory::data_type;
    dnnl::memory a({{M, K}, dt::f32, dnnl::memory::dims{K, 1}}, engine, const_cast<float*>(x));
    dnnl::memory b({{K, N}, dt::f32, w_in_out ? dnnl::memory::dims{N, 1} : dnnl::memory::dims{1, K}}, engine,
                   const_cast<float*>(w));
    dnnl::memory c({{M, N}, dt::f32, dnnl::memory::dims{ldc, 1}}, engine, out);
    mm.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
};

// General strided f32 GEMMs (training), primitives cached by shape, strides and accumulation.
struct StridedGemm {
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mu;
  std::map<Key, dnnl::matmul> cache;  // std::map: references stay valid as it grows

  const dnnl::matmul& get(const Key& key, const dnnl::memory::desc& ad, const dnnl::memory::desc& bd,
                          const dnnl::memory::desc& cd, bool accumulate) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it == cache.end()) {
      dnnl::primitive_attr attr;
      if (accumulate) {
        dnnl::post_ops ops;
        ops.append_sum(1.0f);
        attr.set_post_ops(ops);
      }
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ad, bd, cd), attr, engine);
      it = cache.emplace(key, dnnl::matmul(pd)).first;
    }
    return it->second;
  }

  void run(Operand a, Operand b, float* c, int64_t M, int64_t N, int64_t K, bool accumulate, int64_t ldc) {
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc ad({M, K}, dt::f32, dnnl::memory::dims{a.row_stride, a.col_stride});
    const dnnl::memory::desc bd({K, N}, dt::f32, dnnl::memory::dims{b.row_stride, b.col_stride});
    const dnnl::memory::desc cd({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
    const Key key{M, N, K, a.row_stride, a.col_stride, b.row_stride, b.col_stride, ldc, accumulate};
    const dnnl::matmul& mm = get(key, ad, bd, cd, accumulate);
    thread_local dnnl::stream stream(engine);  // one per thread: calls may run concurrently
    dnnl::memory am(ad, engine, const_cast<float*>(a.data)), bm(bd, engine, const_cast<float*>(b.data)), cm(cd, engine, c);
    mm.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    stream.wait();
  }
};

Dnnl& dnnl_state() {
  static Dnnl d;
  return d;
}

// Half-precision weights in a prefill (M > kSmallM) are widened to f32 once per weight and kept,
// when memory allows, so that every later prefill runs one f32 GEMM over the whole weight; decode
// keeps reading the half weights (GEMV). Entries are tied to the weight's storage and dropped when
// it is freed. The budget is half the memory available at the first widening.
struct Widened {
  struct Entry {
    std::weak_ptr<Storage> storage;
    std::vector<float> data;
  };
  std::mutex mu;
  std::map<const void*, Entry> entries;
  uint64_t bytes = 0, budget = 0;

  const float* get(const Tensor& w, int64_t N, int64_t K) {
    std::lock_guard<std::mutex> lock(mu);
    const void* key = w.raw();
    if (auto it = entries.find(key); it != entries.end()) {
      if (it->second.storage.lock() == w.storage()) return it->second.data.data();
      bytes -= it->second.data.size() * sizeof(float);
      entries.erase(it);
    }
    for (auto it = entries.begin(); it != entries.end();)  // weights freed since
      if (it->second.storage.expired()) {
        bytes -= it->second.data.size() * sizeof(float);
        it = entries.erase(it);
      } else {
        ++it;
      }
    if (budget == 0) budget = std::max<uint64_t>(1, backend::available_memory() / 2);
    const uint64_t need = static_cast<uint64_t>(N * K) * sizeof(float);
    if (bytes + need > budget) return nullptr;
    Entry e{w.storage(), std::vector<float>(static_cast<size_t>(N * K))};
    to_f32_avx2(w, 0, N, K, e.data.data());
    bytes += need;
    return entries.emplace(key, std::move(e)).first->second.data.data();
  }
};

Widened& widened() {
  static Widened w;
  return w;
}

// Half-precision weights over the widening budget: 512 rows at a time, widened into a scratch
// block and multiplied.
void large_m_half(const float* x, int64_t M, int64_t K, const Tensor& w, int64_t N, float* out) {
  constexpr int64_t kBlock = 512;
  std::vector<float> scratch(static_cast<size_t>(std::min(kBlock, N) * K));
  for (int64_t n0 = 0; n0 < N; n0 += kBlock) {
    const int64_t nb = std::min(kBlock, N - n0);
    to_f32_avx2(w, n0, nb, K, scratch.data());
    dnnl_state().run(x, scratch.data(), out + n0, M, nb, K, N, false);
  }
}

}  // namespace

namespace {
std::atomic<uint64_t> small_gemm_counter{0};
}  // namespace

uint64_t small_gemm_runs() { return small_gemm_counter.load(); }

void gemm_f32(Operand a, Operand b, float* c, int64_t M, int64_t N, int64_t K, bool accumulate, int64_t ldc) {
  if (ldc == 0) ldc = N;
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t m = 0; m < M; ++m) std::fill(c + m * ldc, c + m * ldc + N, 0.0f);
    return;
  }
  if (M * N * K <= kSmallGemmWork && have_avx2()) {
    small_gemm_counter.fetch_add(1, std::memory_order_relaxed);
    return small_gemm_avx2(a.data, a.row_stride, a.col_stride, b.data, b.row_stride, b.col_stride, c, ldc, M, N, K,
                           accumulate);
  }
  static StridedGemm g;
  g.run(a, b, c, M, N, K, accumulate, ldc);
}

uint64_t widened_weight_bytes() {
  auto& w = widened();
  std::lock_guard<std::mutex> lock(w.mu);
  return w.bytes;
}

IsaCap isa_cap() {
  static const IsaCap cap = [] {
    const char* e = std::getenv("ANATOMY_CPU_ISA");
    const std::string v = e ? e : "";
    if (v.empty() || v == "avx512") return IsaCap::avx512;
    if (v == "avx2") return IsaCap::avx2;
    if (v == "scalar") return IsaCap::scalar;
    return IsaCap::invalid;
  }();
  return cap;
}

bool have_avx512() {
  static const bool ok = isa_cap() != IsaCap::avx2 && isa_cap() != IsaCap::scalar &&
                         __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return ok;
}

bool have_avx2() {
  // F16C is read from CPUID (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports lacks it.
  static const bool ok = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
    return isa_cap() != IsaCap::scalar && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
  }();
  return ok;
}

bool linear_fast(const Tensor& x, const Tensor& w, const Tensor* bias, bool w_in_out, Tensor& out) {
  const DType d = w.dtype();
  if (d != DType::F32 && d != DType::BF16 && d != DType::F16) return false;
  const int64_t K = x.dim(-1), N = out.dim(-1), M = static_cast<int64_t>(x.numel()) / K;
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  if (w_in_out && d == DType::F32) {
    dnnl_state().run(xs, w.data<float>(), o, M, N, K, N, true);
  } else if (w_in_out) {
    // GPT-2's Conv1D layout [in, out] in half precision: no half kernel takes it, so the weights
    // are widened to an f32 copy (one pass over them, like the read a GEMV makes) for oneDNN.
    const auto n = static_cast<int64_t>(w.numel());
    std::vector<float> wf(static_cast<size_t>(n));
    const auto* h = w.data<uint16_t>();
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) wf[i] = d == DType::BF16 ? bf16_to_f32(h[i]) : f16_to_f32(h[i]);
    dnnl_state().run(xs, wf.data(), o, M, N, K, N, true);
  } else if (M == 1 && have_avx512()) {
    gemv_avx512(xs, K, w, N, o);
  } else if (M == 1 && have_avx2()) {
    gemv_avx2(xs, K, w, N, o);
  } else if (const float* wide = d != DType::F32 && M >= kWidenFromM && have_avx2() ? widened().get(w, N, K) : nullptr) {
    dnnl_state().run(xs, wide, o, M, N, K, N, false);
  } else if (M <= kSmallM && d != DType::F32 && have_avx2()) {
    small_m_avx2(xs, M, K, w, N, o);
  } else if (d == DType::F32) {
    dnnl_state().run(xs, w.data<float>(), o, M, N, K, N, false);
  } else if (!have_avx2()) {
    return false;
  } else {
    large_m_half(xs, M, K, w, N, o);
  }
  if (bias) {
    // An f32 bias is read in place: converting element by element cost as much as a small GEMV.
    const std::vector<float> widened = bias->dtype() == DType::F32 ? std::vector<float>() : floats(*bias);
    const float* b = widened.empty() ? bias->data<float>() : widened.data();
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) o[m * N + n] += b[n];
  }
  return true;
}

}  // namespace anatomy::cpu
