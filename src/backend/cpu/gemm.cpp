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
#include <unordered_map>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include <fmt/format.h>
#ifdef ANATOMY_HAVE_OPENBLAS
#include <cblas.h>
#endif
#include <dlfcn.h>

#include "backend/cpu/gemm_kernels.h"
#include "backend/cpu/kernels.h"
#include "backend/device.h"
#include "core/error.h"
#include "core/half.h"

namespace anatomy::cpu {
namespace {

// ---- large M: oneDNN matmul ------------------------------------------------------------------

// Callers may run concurrently (training's data-parallel workers, each on one thread). oneDNN's
// library scratchpad is one buffer per creating thread, shared by every primitive made there, so
// concurrent executions would write into each other's: each primitive is made with a user
// scratchpad and every executing thread passes its own, on its own stream. Primitives are also
// keyed by the caller's thread count, since oneDNN shares the work out as it was created for.
const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

struct Matmul {
  dnnl::matmul mm;
  dnnl::memory::desc scratchpad;
};

Matmul make_matmul(const dnnl::memory::desc& a, const dnnl::memory::desc& b, const dnnl::memory::desc& c,
                   dnnl::primitive_attr attr = {}) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, engine());
  return {dnnl::matmul(pd), pd.scratchpad_desc()};
}

// a, b, c: the source, weights and destination's descriptors and data.
void execute(const Matmul& m, const dnnl::memory::desc& ad, const void* a, const dnnl::memory::desc& bd, const void* b,
             const dnnl::memory::desc& cd, float* c) {
  thread_local dnnl::stream stream(engine());
  thread_local std::vector<std::byte> scratch;
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, dnnl::memory(ad, engine(), const_cast<void*>(a))},
                                             {DNNL_ARG_WEIGHTS, dnnl::memory(bd, engine(), const_cast<void*>(b))},
                                             {DNNL_ARG_DST, dnnl::memory(cd, engine(), c)}};
  if (const size_t bytes = m.scratchpad.get_size(); bytes > 0) {
    if (scratch.size() < bytes) scratch.resize(bytes);
    args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(m.scratchpad, engine(), scratch.data()));
  }
  m.mm.execute(stream, args);
  stream.wait();
}

struct Dnnl {
  std::mutex mu;
  // (M, N, K, ldc, W stored [K, N], threads) -> primitive
  std::map<std::tuple<int64_t, int64_t, int64_t, int64_t, bool, int>, Matmul> cache;

  static dnnl::memory::desc weights(int64_t N, int64_t K, bool w_in_out) {
    // nn.Linear's [N, K] viewed as the K×N operand: element (k, n) at n·K + k.
    return {{K, N}, dnnl::memory::data_type::f32, w_in_out ? dnnl::memory::dims{N, 1} : dnnl::memory::dims{1, K}};
  }

  void run(const float* x, const float* w, float* out, int64_t M, int64_t N, int64_t K, int64_t ldc, bool w_in_out) {
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc ad({M, K}, dt::f32, dnnl::memory::dims{K, 1}), wd = weights(N, K, w_in_out),
        cd({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
    const Matmul* mm = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      const auto key = std::make_tuple(M, N, K, ldc, w_in_out, omp_get_max_threads());
      auto it = cache.find(key);
      if (it == cache.end()) it = cache.emplace(key, make_matmul(ad, wd, cd)).first;
      mm = &it->second;  // std::map: references stay valid as it grows
    }
    execute(*mm, ad, x, wd, w, cd, out);
  }

  // The weights layout oneDNN picks for a 128-token prefill when free to choose (format any): the
  // onednn_reordered path keeps each weight reordered into it and runs every M on that layout.
  std::map<std::pair<int64_t, int64_t>, dnnl::memory::desc> layouts;
  std::map<std::tuple<int64_t, int64_t, int64_t, int>, Matmul> reordered;  // (M, N, K, threads)

  dnnl::memory::desc layout(int64_t N, int64_t K) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = layouts.find({N, K});
    if (it != layouts.end()) return it->second;
    using dt = dnnl::memory::data_type;
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc({{128, K}, dt::f32, dnnl::memory::dims{K, 1}}, {{K, N}, dt::f32, dnnl::memory::format_tag::any},
                           {{128, N}, dt::f32, dnnl::memory::dims{N, 1}}),
        engine());
    return layouts.emplace(std::make_pair(N, K), pd.weights_desc()).first->second;
  }

  // w: f32 [N, K] (in_out: [K, N]); dst: layout(N, K).get_size() bytes.
  void reorder(const float* w, int64_t N, int64_t K, bool in_out, void* dst) {
    dnnl::memory src(weights(N, K, in_out), engine(), const_cast<float*>(w));
    dnnl::memory out(layout(N, K), engine(), dst);
    dnnl::stream stream(engine());
    dnnl::reorder(src, out).execute(stream, src, out);
    stream.wait();
  }

  void run_reordered(const float* x, const void* w, float* out, int64_t M, int64_t N, int64_t K) {
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc wd = layout(N, K), ad({M, K}, dt::f32, dnnl::memory::dims{K, 1}),
                             cd({M, N}, dt::f32, dnnl::memory::dims{N, 1});
    const Matmul* mm = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      const auto key = std::make_tuple(M, N, K, omp_get_max_threads());
      auto it = reordered.find(key);
      if (it == reordered.end()) it = reordered.emplace(key, make_matmul(ad, wd, cd)).first;
      mm = &it->second;
    }
    execute(*mm, ad, x, wd, w, cd, out);
  }
};

// General strided f32 GEMMs (training), primitives cached by shape, strides, accumulation and the
// caller's thread count (as Dnnl's).
struct StridedGemm {
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, int>;
  std::mutex mu;
  std::map<Key, Matmul> cache;  // std::map: references stay valid as it grows

  void run(Operand a, Operand b, float* c, int64_t M, int64_t N, int64_t K, bool accumulate, int64_t ldc) {
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc ad({M, K}, dt::f32, dnnl::memory::dims{a.row_stride, a.col_stride});
    const dnnl::memory::desc bd({K, N}, dt::f32, dnnl::memory::dims{b.row_stride, b.col_stride});
    const dnnl::memory::desc cd({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
    const Key key{M, N, K, a.row_stride, a.col_stride, b.row_stride, b.col_stride, ldc, accumulate, omp_get_max_threads()};
    const Matmul* mm = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto it = cache.find(key);
      if (it == cache.end()) {
        dnnl::primitive_attr attr;
        if (accumulate) {
          dnnl::post_ops ops;
          ops.append_sum(1.0f);
          attr.set_post_ops(ops);
        }
        it = cache.emplace(key, make_matmul(ad, bd, cd, attr)).first;
      }
      mm = &it->second;
    }
    execute(*mm, ad, a.data, bd, b.data, cd, c);
  }
};

Dnnl& dnnl_state() {
  static Dnnl d;
  return d;
}

// Weights prepared and kept: for prefill, half weights widened to f32 (for oneDNN and OpenBLAS),
// weights of any dtype packed into panels (the own kernel) or reordered into oneDNN's preferred
// layout; for decode, half weights in the GEMV's panel form. Entries are tied to the weight's
// storage and dropped once it is freed. The budget is half the memory available at the first
// (set_prepared_budget: tests).
enum class Form { widened, packed, reordered, gemv_panels };

// A half-precision weight's decode panels (read by every generated token) come before its prefill
// copy (read once per prompt): on AVX2 machines such a copy is made only if the panels would still
// fit, and that room stays reserved until they are made or the weight is freed — first come, first
// served, a generation's prefill would take the budget and leave decode on the stored rows.
struct Prepared {
  struct Entry {
    std::weak_ptr<Storage> storage;
    std::unique_ptr<HeapStorage> copy;  // on huge pages where large (HeapStorage); none: refused
    uint64_t bytes = 0, reserved = 0;   // reserved: room kept for this weight's decode panels
    float* data() const { return copy ? reinterpret_cast<float*>(copy->data()) : nullptr; }
  };
  using Key = std::tuple<const void*, int64_t, int64_t, bool, Form>;  // (data, N, K, in_out, form)
  std::mutex mu;
  std::map<Key, Entry> entries;
  uint64_t bytes = 0, reserved = 0, budget = 0;

  std::map<Key, Entry>::iterator erase(std::map<Key, Entry>::iterator it) {
    bytes -= it->second.bytes;
    reserved -= it->second.reserved;
    return entries.erase(it);
  }

  void drop_freed() {
    for (auto it = entries.begin(); it != entries.end();) it = it->second.storage.expired() ? erase(it) : std::next(it);
  }

  static uint64_t bytes_of(int64_t N, int64_t K, Form form) {
    const uint64_t size = form == Form::packed      ? static_cast<uint64_t>(packed_weight_floats(N, K)) * sizeof(float)
                          : form == Form::reordered ? dnnl_state().layout(N, K).get_size()
                          : form == Form::gemv_panels ? static_cast<uint64_t>(gemv_panel_elements(N, K)) * sizeof(uint16_t)
                                                    : static_cast<uint64_t>(N * K) * sizeof(float);
    return (size + 63) / 64 * 64;
  }

  // The entry of this weight in another form, if it has one.
  Entry* sibling(const Tensor& w, const Key& key, Form form) {
    auto it = entries.find(std::make_tuple(std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), form));
    return it != entries.end() && it->second.storage.lock() == w.storage() ? &it->second : nullptr;
  }

  // The room this weight's prefill copies hold for its panels; given back when `release`.
  uint64_t reserved_for(const Tensor& w, const Key& key, bool release) {
    uint64_t r = 0;
    for (Form f : {Form::widened, Form::packed, Form::reordered})
      if (Entry* e = sibling(w, key, f)) {
        r += e->reserved;
        if (release) reserved -= std::exchange(e->reserved, 0);
      }
    return r;
  }

  // nullptr when the weight may still change (its storage is not frozen) or when the copy would
  // exceed the budget; a refusal is remembered while the weight lives, so that a decode step does
  // not retry (and walk every entry) on each token.
  const float* get(const Tensor& w, int64_t N, int64_t K, bool in_out, Form form) {
    if (!w.storage() || !w.storage()->frozen()) return nullptr;
    std::lock_guard<std::mutex> lock(mu);
    const Key key = std::make_tuple(static_cast<const void*>(w.raw()), N, K, in_out, form);
    if (auto it = entries.find(key); it != entries.end()) {
      if (it->second.storage.lock() == w.storage()) return it->second.data();
      erase(it);  // another weight at a freed one's address
    }
    drop_freed();
    if (budget == 0) budget = std::max<uint64_t>(1, backend::available_memory() / 2);
    const bool panels = form == Form::gemv_panels;
    if (panels) reserved_for(w, key, true);  // the room kept for the panels: used now, or never
    const uint64_t need = bytes_of(N, K, form);
    const uint64_t reserve = !panels && w.dtype() != DType::F32 && have_avx2() && !sibling(w, key, Form::gemv_panels) &&
                                     reserved_for(w, key, false) == 0
                                 ? bytes_of(N, K, Form::gemv_panels)
                                 : 0;
    Entry e{w.storage(), nullptr, 0, 0};
    try {
      if (bytes + reserved + need + reserve <= budget) e.copy = std::make_unique<HeapStorage>(need);
    } catch (const std::bad_alloc&) {
    }
    if (!e.copy) return entries.emplace(key, std::move(e)).first->second.data();
    e.bytes = need;
    e.reserved = reserve;
    bytes += need;
    reserved += reserve;
    if (form == Form::packed) {
      pack_weight_avx2(w, N, K, in_out, e.data());
    } else if (panels) {
      pack_gemv_panels_avx2(w, N, K, in_out, reinterpret_cast<uint16_t*>(e.data()));
    } else if (form == Form::widened) {
      to_f32_avx2(w, 0, N, K, e.data());  // every element in place: either layout
    } else if (w.dtype() == DType::F32) {
      dnnl_state().reorder(w.data<float>(), N, K, in_out, e.data());
    } else {
      std::vector<float> wide(static_cast<size_t>(N * K));
      to_f32_avx2(w, 0, N, K, wide.data());
      dnnl_state().reorder(wide.data(), N, K, in_out, e.data());
    }
    return entries.emplace(key, std::move(e)).first->second.data();
  }
};

Prepared& prepared() {
  static Prepared p;
  return p;
}

std::atomic<uint64_t> panel_gemvs{0};

// The panel form of a half-precision [N, K] weight for decode's GEMV (gemm_kernels.h), made once;
// nullptr for f32 weights (decode reads the prefill's packed panels of those), weights that may
// change, and copies over the budget.
const uint16_t* gemv_panels(const Tensor& w, bool in_out = false) {
  if (w.dtype() != DType::BF16 && w.dtype() != DType::F16) return nullptr;
  const int64_t N = w.dim(in_out ? 1 : 0), K = w.dim(in_out ? 0 : 1);
  return reinterpret_cast<const uint16_t*>(prepared().get(w, N, K, in_out, Form::gemv_panels));
}

// Every output's panels, or none (the GEMV reads all of one list one way).
void with_panels(std::vector<GemvOutput>& outputs) {
  for (GemvOutput& o : outputs)
    if (!(o.panels = gemv_panels(*o.w))) {
      for (GemvOutput& p : outputs) p.panels = nullptr;
      return;
    }
  panel_gemvs.fetch_add(1, std::memory_order_relaxed);
}

// Half-precision weights over the budget: 512 rows at a time, widened into a scratch block and
// multiplied.
void large_m_half(const float* x, int64_t M, int64_t K, const Tensor& w, int64_t N, float* out) {
  constexpr int64_t kBlock = 512;
  std::vector<float> scratch(static_cast<size_t>(std::min(kBlock, N) * K));
  for (int64_t n0 = 0; n0 < N; n0 += kBlock) {
    const int64_t nb = std::min(kBlock, N - n0);
    to_f32_avx2(w, n0, nb, K, scratch.data());
    dnnl_state().run(x, scratch.data(), out + n0, M, nb, K, N, false);
  }
}

// OpenBLAS is loaded when first asked for (dlopen), so that a machine without it still runs
// anatomy — the GPU machine's pack leaves its 36 MB out — and its path is then unavailable, saying why.
struct OpenBlas {
#ifdef ANATOMY_HAVE_OPENBLAS
  decltype(&cblas_sgemm) sgemm = nullptr;
  decltype(&openblas_set_num_threads) set_threads = nullptr;
  decltype(&openblas_get_corename) corename = nullptr;
#endif
  std::string missing;  // why it cannot run; "" when loaded

  OpenBlas() {
#ifdef ANATOMY_HAVE_OPENBLAS
    void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      missing = std::string("libopenblas.so.0 does not load: ") + dlerror();
      return;
    }
    sgemm = reinterpret_cast<decltype(sgemm)>(dlsym(lib, "cblas_sgemm"));
    set_threads = reinterpret_cast<decltype(set_threads)>(dlsym(lib, "openblas_set_num_threads"));
    corename = reinterpret_cast<decltype(corename)>(dlsym(lib, "openblas_get_corename"));
    if (!sgemm || !set_threads || !corename) missing = "libopenblas.so.0 lacks cblas_sgemm or its OpenBLAS functions";
#else
    missing = "this build has no OpenBLAS (its cblas.h was not found)";
#endif
  }

  void gemm(const float* x, const float* w, bool in_out, float* out, int64_t M, int64_t N, int64_t K) const {
#ifdef ANATOMY_HAVE_OPENBLAS
    set_threads(omp_get_max_threads());  // the engine's thread count, which may have changed
    sgemm(CblasRowMajor, CblasNoTrans, in_out ? CblasNoTrans : CblasTrans, static_cast<blasint>(M),
          static_cast<blasint>(N), static_cast<blasint>(K), 1.0f, x, static_cast<blasint>(K), w,
          static_cast<blasint>(in_out ? N : K), 0.0f, out, static_cast<blasint>(N));
#else
    (void)x, (void)w, (void)in_out, (void)out, (void)M, (void)N, (void)K;
#endif
  }
};

const OpenBlas& openblas() {
  static const OpenBlas b;
  return b;
}

std::atomic<uint64_t> path_counters[std::size(kLinearPaths)];

LinearPlan& plan_state() {
  static LinearPlan plan = default_linear_plan();
  return plan;
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

uint64_t prepared_weight_bytes() {
  auto& p = prepared();
  std::lock_guard<std::mutex> lock(p.mu);
  return p.bytes;
}

void set_prepared_budget(uint64_t bytes) {
  auto& p = prepared();
  std::lock_guard<std::mutex> lock(p.mu);
  p.budget = bytes;
}

const char* path_name(LinearPath p) {
  switch (p) {
    case LinearPath::onednn: return "onednn";
    case LinearPath::onednn_reordered: return "onednn_reordered";
    case LinearPath::packed: return "packed";
    case LinearPath::openblas: return "openblas";
    case LinearPath::registers: return "registers";
  }
  return "?";
}

std::string path_unavailable(LinearPath p) {
  if (p == LinearPath::onednn) return "";
  if (p == LinearPath::openblas) {
    if (!openblas().missing.empty()) return openblas().missing;
#ifdef ANATOMY_HAVE_OPENBLAS
    // OpenBLAS picks its kernels when it loads ($OPENBLAS_CORETYPE); a cap set later cannot reach it.
    const std::string core = openblas().corename();
    if (isa_cap() == IsaCap::avx2 && (core.find("skylakex") != std::string::npos || core.find("cooperlake") != std::string::npos ||
                                      core.find("sapphire") != std::string::npos))
      return "OpenBLAS runs its " + core + " (AVX-512) kernels: set OPENBLAS_CORETYPE=Haswell with ANATOMY_CPU_ISA=avx2";
#endif
  }
  return have_avx2() ? "" : "the CPU has no AVX2 + FMA + F16C (or $ANATOMY_CPU_ISA=scalar)";
}

// Measured with bench_gemm_sweep on a 2-core Zen 4 (bench/RESULTS.md): with AVX2 the packed
// kernel leads at every M ≥ 2 (204 GFLOP/s at M = 128 against 177 for oneDNN); with AVX-512,
// oneDNN on its own reordered layout leads from M = 8 (214 against 207 at M = 128).
LinearPlan default_linear_plan() {
  LinearPlan plan{{}, "built-in defaults (run `anatomy device` to calibrate this machine)"};
  if (!have_avx2()) return plan;  // oneDNN for f32; half weights take the reference kernel
  for (DType d : {DType::F32, DType::BF16, DType::F16}) {
    plan.steps.push_back({d, 2, LinearPath::packed});
    if (have_avx512()) plan.steps.push_back({d, 8, LinearPath::onednn_reordered});
  }
  return plan;
}

void set_linear_plan(LinearPlan plan) {
  for (const auto& s : plan.steps)
    if (const std::string why = path_unavailable(s.path); !why.empty())
      fail(ErrorKind::config, fmt::format("{}: GEMM path '{}' for {} weights from M = {} does not run here: {}", plan.source,
                                          path_name(s.path), dtype_name(s.dtype), s.m_from, why));
  std::stable_sort(plan.steps.begin(), plan.steps.end(),
                   [](const PlanStep& a, const PlanStep& b) { return a.m_from < b.m_from; });
  plan_state() = std::move(plan);
}

const LinearPlan& linear_plan() { return plan_state(); }

LinearPath planned_path(DType dtype, int64_t M) {
  LinearPath path = LinearPath::onednn;
  for (const auto& s : plan_state().steps)
    if (s.dtype == dtype && s.m_from <= M) path = s.path;
  return path;
}

uint64_t path_runs(LinearPath p) { return path_counters[static_cast<size_t>(p)].load(); }
uint64_t panel_gemv_runs() { return panel_gemvs.load(); }

bool linear_through(LinearPath path, const Tensor& x, const Tensor& w, Tensor& out, bool w_in_out) {
  const DType d = w.dtype();
  if (!path_unavailable(path).empty() || (d != DType::F32 && !have_avx2())) return false;  // half: widened by AVX2
  if (w_in_out && path == LinearPath::registers) return false;  // it reads rows of [N, K]
  const int64_t K = x.dim(-1), N = out.dim(-1), M = static_cast<int64_t>(x.numel()) / K;
  const float* xs = x.data<float>();
  float* o = out.data<float>();
  const auto stored_or_widened = [&]() -> const float* {
    return d == DType::F32 ? w.data<float>() : prepared().get(w, N, K, w_in_out, Form::widened);
  };
  switch (path) {
    case LinearPath::registers: small_m_avx2(xs, M, K, w, N, o); break;
    case LinearPath::packed: {
      const float* p = prepared().get(w, N, K, w_in_out, Form::packed);
      if (!p) return false;
      packed_gemm_avx2(xs, M, K, {{p, N, o}});
      break;
    }
    case LinearPath::onednn_reordered: {
      const float* r = prepared().get(w, N, K, w_in_out, Form::reordered);
      if (!r) return false;
      dnnl_state().run_reordered(xs, r, o, M, N, K);
      break;
    }
    case LinearPath::onednn: {
      const float* f = stored_or_widened();
      if (!f) return false;
      dnnl_state().run(xs, f, o, M, N, K, N, w_in_out);
      break;
    }
    case LinearPath::openblas: {
      const float* f = stored_or_widened();
      if (!f) return false;
      openblas().gemm(xs, f, w_in_out, o, M, N, K);
      break;
    }
  }
  path_counters[static_cast<size_t>(path)].fetch_add(1, std::memory_order_relaxed);
  return true;
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
  if (const float* p = M == 1 && d == DType::F32 && have_avx2() ? prepared().get(w, N, K, w_in_out, Form::packed) : nullptr) {
    packed_gemm_avx2(xs, 1, K, {{p, N, o}});  // f32 decode: the prefill's panels, one stream a thread
    path_counters[static_cast<size_t>(LinearPath::packed)].fetch_add(1, std::memory_order_relaxed);
  } else if (M == 1 && !w_in_out && have_avx2()) {  // also on AVX-512 machines: gemm_avx2.cpp says why
    std::vector<GemvOutput> outputs{{&w, N, o}};
    with_panels(outputs);
    gemv_avx2(xs, K, outputs);
  } else if (M > 1 && linear_through(planned_path(d, M), x, w, out, w_in_out)) {
  } else if (const uint16_t* p = M == 1 && w_in_out && have_avx2() ? gemv_panels(w, true) : nullptr) {
    // GPT-2's Conv1D layout [in, out], half precision, frozen: the panel form packed from its columns.
    panel_gemvs.fetch_add(1, std::memory_order_relaxed);
    gemv_avx2(xs, K, {{&w, N, o, p}});
  } else if (w_in_out && d != DType::F32) {
    // GPT-2's Conv1D layout [in, out] in half precision without a kept copy (decode, a weight that
    // may change or a copy over the budget): widened to f32 per call for oneDNN.
    const auto n = static_cast<int64_t>(w.numel());
    std::vector<float> wf(static_cast<size_t>(n));
    const auto* h = w.data<uint16_t>();
#pragma omp parallel for schedule(static) if (n > kParallelElements)
    for (int64_t i = 0; i < n; ++i) wf[i] = d == DType::BF16 ? bf16_to_f32(h[i]) : f16_to_f32(h[i]);
    dnnl_state().run(xs, wf.data(), o, M, N, K, N, true);
  } else if (d != DType::F32 && !have_avx2()) {
    return false;
  } else {  // a weight that may change, a copy over the budget, or no AVX2: oneDNN on the stored weight
    if (d == DType::F32) dnnl_state().run(xs, w.data<float>(), o, M, N, K, N, w_in_out);
    else large_m_half(xs, M, K, w, N, o);
    if (M > 1) path_counters[static_cast<size_t>(LinearPath::onednn)].fetch_add(1, std::memory_order_relaxed);
  }
  if (bias) add_bias(*bias, M, N, o);
  return true;
}

void add_bias(const Tensor& bias, int64_t M, int64_t N, float* out) {
  // An f32 bias is read in place: converting element by element cost as much as a small GEMV.
  const std::vector<float> widened = bias.dtype() == DType::F32 ? std::vector<float>() : floats(bias);
  const float* b = widened.empty() ? bias.data<float>() : widened.data();
#pragma omp parallel for schedule(static) if (M * N > kParallelElements)
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) out[m * N + n] += b[n];
}

bool fuses_linears(const Tensor& x, const std::vector<Tensor>& ws, std::optional<Activation> gated) {
  if (!have_avx2() || x.dtype() != DType::F32 || x.shape().empty() || ws.empty()) return false;
  if (gated && (ws.size() != 2 || !has_vector_form(*gated))) return false;
  const int64_t K = x.dim(-1), M = rows(x);
  const DType d = ws.front().dtype();
  // One row (decode): the GEMV reads the stored weights in place, so any weight of a float dtype.
  if (M == 1)
    return (d == DType::F32 || d == DType::BF16 || d == DType::F16) && std::all_of(ws.begin(), ws.end(), [&](const Tensor& w) {
             return w.dtype() == d && w.shape().size() == 2 && w.dim(1) == K;
           });
  if (planned_path(d, M) != LinearPath::packed) return false;
  return std::all_of(ws.begin(), ws.end(), [&](const Tensor& w) {
    return w.dtype() == d && w.shape().size() == 2 && w.dim(1) == K && w.storage() && w.storage()->frozen();
  });
}

bool linear_group_fast(const Tensor& x, const std::vector<Tensor>& ws, std::vector<Tensor>& outs) {
  if (!fuses_linears(x, ws, std::nullopt)) return false;
  const int64_t K = x.dim(-1), M = rows(x);
  std::vector<PackedOutput> outputs;
  for (size_t i = 0; i < ws.size(); ++i) {
    const float* p = M > 1 || ws[i].dtype() == DType::F32 ? prepared().get(ws[i], ws[i].dim(0), K, false, Form::packed) : nullptr;
    if (!p) break;
    outputs.push_back({p, ws[i].dim(0), outs[i].data<float>()});
  }
  if (outputs.size() < ws.size()) {
    if (M > 1) return false;
    std::vector<GemvOutput> rows;  // one row: half precision, or f32 without the panels
    for (size_t i = 0; i < ws.size(); ++i) rows.push_back({&ws[i], ws[i].dim(0), outs[i].data<float>()});
    with_panels(rows);
    gemv_avx2(x.data<float>(), K, rows);
    return true;
  }
  packed_gemm_avx2(x.data<float>(), M, K, outputs);
  path_counters[static_cast<size_t>(LinearPath::packed)].fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool gated_linear_fast(const Tensor& x, const Tensor& w_gate, const Tensor& w_up, Activation act, Tensor& out) {
  if (!fuses_linears(x, {w_gate, w_up}, act) || w_gate.dim(0) != w_up.dim(0)) return false;
  const int64_t K = x.dim(-1), M = rows(x), N = w_gate.dim(0);
  const bool panels = M > 1 || w_gate.dtype() == DType::F32;
  const float* g = panels ? prepared().get(w_gate, N, K, false, Form::packed) : nullptr;
  const float* u = g ? prepared().get(w_up, N, K, false, Form::packed) : nullptr;
  if (!u && M > 1) return false;
  if (!u) {  // one row: half precision, or f32 without the panels
    std::vector<GemvOutput> outputs{{&w_gate, N, nullptr}, {&w_up, N, nullptr}};
    with_panels(outputs);
    gated_gemv_avx2(x.data<float>(), K, w_gate, w_up, N, act, out.data<float>(), outputs[0].panels, outputs[1].panels);
    return true;
  }
  packed_gated_gemm_avx2(x.data<float>(), M, K, g, u, N, act, out.data<float>());
  path_counters[static_cast<size_t>(LinearPath::packed)].fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace anatomy::cpu
