// Every op on every backend against the scalar reference, in the manner of llama.cpp's
// test-backend-ops: each case runs the op through ops:: on the backend under test and on the
// reference backend (tests/ops/reference_backend.h), compares every output (states included),
// asserts on the CPU that the fast kernel it targets really ran (a test that passes because the
// fast path declined proves nothing), and checks the FLOPs the op reports — on the real run and on
// a meta run, which must also give the same output shapes — against the closed form of the op's
// header. A second backend plugs in by adding it to kBackends.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <optional>
#include <random>

#include "backend/cpu/kernels.h"
#include "core/error.h"
#include "core/half.h"
#include "ops/ops.h"
#include "ops/device_bridge.h"
#include "ops/reference_backend.h"
#include "test_util.h"

namespace anatomy::testing {
namespace {

using Outputs = std::vector<Tensor>;

struct OpCase {
  std::string name;
  std::optional<cpu::Kernel> fast;  // the CPU fast path this case must exercise (on AVX2 machines)
  double flops;                     // closed form: every FLOP the op reports, all classes
  double tol;                       // |a − b| ≤ tol · (1 + |b|)
  std::function<Outputs(const ops::Context&)> run;
};

Tensor random(DType dtype, Shape shape, uint32_t seed, float lo = -1, float hi = 1) {
  return test::random_tensor(dtype, std::move(shape), seed, lo, hi);
}

Tensor clone(const Tensor& t) {
  Tensor c = Tensor::empty(t.dtype(), t.shape());
  std::memcpy(c.raw(), t.raw(), t.nbytes());
  return c;
}

Tensor ids_tensor(Shape shape, int64_t vocab, uint32_t seed) {
  Tensor t = Tensor::empty(DType::I64, std::move(shape));
  for (uint64_t i = 0; i < t.numel(); ++i) t.data<int64_t>()[i] = static_cast<int64_t>((i * 7919 + seed) % vocab);
  return t;
}

class FlopCounter final : public ops::Observer {
 public:
  void begin_scope(const std::string&, const std::string&, const Tensor&) override {}
  void end_scope(const Tensor&) override {}
  void op(const char*, const ops::Cost& c) override { flops += c.flops; }
  double flops = 0;
};

std::vector<OpCase> linear_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 1;
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int64_t M : {1, 2, 5, 17, 64, 130})
      for (auto [N, K] : {std::pair<int64_t, int64_t>{7, 13}, {33, 64}, {300, 129}}) {
        const bool bias = (M + N) % 2 == 1;
        const Tensor x = random(DType::F32, {1, M, K}, ++seed), w = random(dt, {N, K}, ++seed), b = random(DType::F32, {N}, ++seed);
        cases.push_back({fmt::format("linear {} M={} N={} K={}{}", dtype_name(dt), M, N, K, bias ? " bias" : ""),
                         cpu::Kernel::linear, 2.0 * M * N * K + (bias ? M * N : 0), 1e-4 * std::sqrt(static_cast<double>(K)),
                         [=](const ops::Context& c) { return Outputs{ops::linear(c, x, w, bias ? &b : nullptr)}; }});
      }
  for (DType dt : {DType::F32, DType::BF16, DType::F16}) {
    const Tensor x = random(DType::F32, {2, 5, 24}, 90), w = random(dt, {24, 40}, 91), b = random(DType::F32, {40}, 92);
    cases.push_back({fmt::format("linear Conv1D layout [in, out] {}", dtype_name(dt)), cpu::Kernel::linear,
                     2.0 * 10 * 40 * 24 + 10 * 40, 1e-4,
                     [=](const ops::Context& c) { return Outputs{ops::linear(c, x, w, &b, ops::OpClass::linear, true)}; }});
  }
  // Projections of one input as one GEMM, with weights frozen as inference loads them (the fused
  // path keeps packed copies); M below 8, where every machine's built-in plan picks the packed path.
  // tests/backend/linear_paths_test.cpp covers the fused kernel's edges.
  auto frozen = [](DType dt, Shape shape, uint32_t seed) {
    Tensor w = random(dt, std::move(shape), seed);
    w.storage()->freeze();
    return w;
  };
  for (DType dt : {DType::F32, DType::BF16})
    for (int64_t M : {2, 5}) {
      const int64_t K = 40;
      const Tensor x = random(DType::F32, {1, M, K}, ++seed), bq = random(DType::F32, {24}, ++seed),
                   bv = random(DType::F32, {3}, ++seed);
      const std::vector<Tensor> ws{frozen(dt, {24, K}, ++seed), frozen(dt, {17, K}, ++seed), frozen(dt, {3, K}, ++seed)};
      cases.push_back({fmt::format("linear_group q/k/v {} M={}", dtype_name(dt), M), cpu::Kernel::linear_group,
                       2.0 * M * 44 * K + M * 27.0, 1e-4 * std::sqrt(static_cast<double>(K)),
                       [=](const ops::Context& c) { return ops::linear_group(c, x, ws, {&bq, nullptr, &bv}); }});
      for (Activation act : {Activation::silu, Activation::gelu_tanh, Activation::relu2}) {
        const Tensor wg = frozen(dt, {33, K}, ++seed), wu = frozen(dt, {33, K}, ++seed);
        cases.push_back({fmt::format("gated_linear {} {} M={}", activation_name(act), dtype_name(dt), M),
                         cpu::Kernel::gated_linear, 2 * 2.0 * M * 33 * K + 2.0 * M * 33, 1e-4 * std::sqrt(static_cast<double>(K)),
                         [=](const ops::Context& c) { return Outputs{ops::gated_linear(c, x, wg, wu, act)}; }});
      }
    }
  return cases;
}

std::vector<OpCase> norm_cases() {
  std::vector<OpCase> cases;
  for (int64_t d : {8, 64, 72, 200}) {
    const auto seed = static_cast<uint32_t>(d);
    const Tensor x = random(DType::F32, {3, 5, d}, seed, -12, 12), w = random(DType::BF16, {d}, seed + 1),
                 b = random(DType::F32, {d}, seed + 2), z = random(DType::F32, {3, 5, d}, seed + 3, -6, 6);
    const double n = 15.0 * static_cast<double>(d);
    cases.push_back({fmt::format("rms_norm d={}", d), cpu::Kernel::rms_norm, 4 * n, 1e-5,
                     [=](const ops::Context& c) { return Outputs{ops::rms_norm(c, x, w, 1e-5)}; }});
    cases.push_back({fmt::format("layer_norm d={}", d), d % 8 == 0 ? std::optional(cpu::Kernel::layer_norm) : std::nullopt, 8 * n, 1e-5,
                     [=](const ops::Context& c) { return Outputs{ops::layer_norm(c, x, w, &b, 1e-5)}; }});
    cases.push_back({fmt::format("layer_norm no bias d={}", d), d % 8 == 0 ? std::optional(cpu::Kernel::layer_norm) : std::nullopt,
                     8 * n, 1e-5, [=](const ops::Context& c) { return Outputs{ops::layer_norm(c, x, w, nullptr, 1e-5)}; }});
    for (int64_t groups : {1, 2})
      cases.push_back({fmt::format("gated_rms_norm d={} groups={}", d, groups),
                       d / groups % 8 == 0 ? std::optional(cpu::Kernel::gated_rms_norm) : std::nullopt, 6 * n, 1e-5,
                       [=](const ops::Context& c) { return Outputs{ops::gated_rms_norm(c, x, z, w, groups, 1e-5)}; }});
  }
  return cases;
}

std::vector<OpCase> elementwise_cases() {
  std::vector<OpCase> cases;
  for (int64_t d : {8, 72, 13}) {
    const auto seed = static_cast<uint32_t>(100 + d);
    const Tensor x = random(DType::F32, {3, 5, d}, seed, -12, 12), row = random(DType::F32, {d}, seed + 1),
                 full = random(DType::F32, {3, 5, d}, seed + 2);
    const double n = 15.0 * static_cast<double>(d);
    for (Activation a : {Activation::silu, Activation::gelu, Activation::gelu_tanh, Activation::relu, Activation::relu2,
                         Activation::softplus})
      cases.push_back({fmt::format("activation {} d={}", activation_name(a), d),
                       a == Activation::softplus ? std::nullopt : std::optional(cpu::Kernel::activation), n, 3e-6,
                       [=](const ops::Context& c) { return Outputs{ops::activation(c, x, a)}; }});
    for (BinaryOp op : {BinaryOp::add, BinaryOp::mul}) {
      cases.push_back({fmt::format("{} broadcast d={}", binary_op_name(op), d),
                       d % 8 == 0 ? std::optional(cpu::Kernel::binary) : std::nullopt, n, 1e-6,
                       [=](const ops::Context& c) { return Outputs{ops::binary(c, x, row, op)}; }});
      cases.push_back({fmt::format("{} same shape d={}", binary_op_name(op), d),
                       d % 8 == 0 ? std::optional(cpu::Kernel::binary) : std::nullopt, n, 1e-6,
                       [=](const ops::Context& c) { return Outputs{ops::binary(c, x, full, op)}; }});
    }
    cases.push_back({fmt::format("slice_last + concat_last d={}", d), std::nullopt, 0, 0, [=](const ops::Context& c) {
                       const Tensor a = ops::slice_last(c, x, 1, d - 3), b = ops::slice_last(c, x, 0, 2);
                       return Outputs{a, b, ops::concat_last(c, a, b)};
                     }});
  }
  const Tensor p = random(DType::BF16, {6}, 7);
  cases.push_back({"neg_exp", std::nullopt, 6, 1e-6, [=](const ops::Context& c) { return Outputs{ops::neg_exp(c, p)}; }});
  const Tensor d = random(DType::F32, {2, 3, 4}, 9, -0.01f, 0.01f);
  cases.push_back({"clamp", std::nullopt, 24, 0, [=](const ops::Context& c) { return Outputs{ops::clamp(c, d, 0.001f, 0.005f)}; }});
  for (int64_t hd : {32, 12}) {
    const Tensor q = random(DType::F32, {2, 3, 4, hd}, 8);
    std::vector<float> inv(static_cast<size_t>(hd / 2));
    for (size_t i = 0; i < inv.size(); ++i) inv[i] = std::pow(10000.0f, -2.0f * static_cast<float>(i) / static_cast<float>(hd));
    cases.push_back({fmt::format("rope hd={}", hd), hd / 2 % 8 == 0 ? std::optional(cpu::Kernel::rope) : std::nullopt,
                     3.0 * static_cast<double>(q.numel()), 1e-6, [=](const ops::Context& c) { return Outputs{ops::rope(c, q, inv, 7)}; }});
  }
  return cases;
}

std::vector<OpCase> embedding_cases() {
  std::vector<OpCase> cases;
  for (DType dt : {DType::F32, DType::BF16, DType::F16}) {
    const Tensor table = random(dt, {50, 40}, 12), ids = ids_tensor({2, 3}, 50, 5);
    cases.push_back({fmt::format("embedding {}", dtype_name(dt)), dt == DType::F32 ? std::nullopt : std::optional(cpu::Kernel::embedding),
                     0, 0, [=](const ops::Context& c) { return Outputs{ops::embedding(c, table, ids)}; }});
  }
  cases.push_back({"sinusoid_table", std::nullopt, 0, 1e-6, [](const ops::Context& c) { return Outputs{ops::sinusoid_table(c, 9, 10)}; }});
  cases.push_back({"positions", std::nullopt, 0, 0, [](const ops::Context& c) { return Outputs{ops::positions(c, 2, 4, 5)}; }});
  return cases;
}

std::vector<OpCase> attention_cases() {
  std::vector<OpCase> cases;
  uint32_t seed = 200;
  for (bool causal : {true, false})
    for (auto shape : {std::tuple<int64_t, int64_t, int64_t>{5, 5, 0}, {1, 9, 8}, {3, 12, 9}, {7, 4, 0}}) {
      const auto [T, Tk, past_] = shape;
      const int64_t past = past_;  // a plain variable: clang 14 cannot capture structured bindings
      if (causal && past + T > Tk) continue;
      const Tensor q = random(DType::F32, {2, T, 6, 20}, ++seed), k = random(DType::F32, {2, Tk, 3, 20}, ++seed),
                   v = random(DType::F32, {2, Tk, 3, 20}, ++seed);
      Tensor pad = Tensor::zeros(DType::F32, {2, Tk});
      for (int64_t j = 0; j < 2 * Tk; ++j) pad.data<float>()[j] = j % Tk % 4 == 1 ? 0.0f : 1.0f;  // key 0 always kept
      const double rect = 2.0 * 6 * static_cast<double>(T * Tk);
      for (float masked : {-INFINITY, -10000.0f})
        for (bool padded : {false, true})
          cases.push_back({fmt::format("attention {} T={} Tk={} past={} fill {}{}", causal ? "causal" : "full", T, Tk, past, masked,
                                       padded ? " key padding" : ""),
                           cpu::Kernel::attention, rect * (4 * 20 + 5), 1e-5, [=](const ops::Context& c) {
                             ops::AttentionOptions o{.scale = 0.3f, .causal = causal, .past = past, .masked_value = masked,
                                                     .key_padding = padded ? &pad : nullptr};
                             return Outputs{ops::attention(c, q, k, v, o)};
                           }});
    }
  // Sliding windows (Mistral, Qwen2/3): keys more than window − 1 positions back are masked.
  for (auto shape : {std::tuple<int64_t, int64_t, int64_t>{9, 0, 4}, {3, 6, 2}, {1, 11, 5}, {6, 0, 1}}) {
    const auto [T, past, window] = shape;
    const int64_t Tk = past + T, p = past, w = window;
    const Tensor q = random(DType::F32, {2, T, 4, 16}, ++seed), k = random(DType::F32, {2, Tk, 2, 16}, ++seed),
                 v = random(DType::F32, {2, Tk, 2, 16}, ++seed);
    for (float masked : {-INFINITY, -10000.0f})
      cases.push_back({fmt::format("attention sliding window {} T={} past={} fill {}", window, T, past, masked),
                       cpu::Kernel::attention, 2.0 * 4 * static_cast<double>(T * Tk) * (4 * 16 + 5), 1e-5,
                       [=](const ops::Context& c) {
                         return Outputs{ops::attention(c, q, k, v, {.scale = 0.25f, .past = p, .window = w,
                                                                    .masked_value = masked})};
                       }});
  }
  // Query heads taken in groups of at most 4 per KV head: 4 (one group), 6 (4 + 2) and 7 (4 + 3)
  // heads per KV head, head sizes with and without a 16-float body and a tail, decode and a
  // short prompt over many cached keys.
  for (auto shape : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 8, 2, 64}, {3, 6, 1, 24}, {2, 14, 2, 12}}) {
    const auto [T, Hq, Hkv, hd] = shape;
    const int64_t past = 37, Tk = past + T;
    const Tensor q = random(DType::F32, {2, T, Hq, hd}, ++seed), k = random(DType::F32, {2, Tk, Hkv, hd}, ++seed),
                 v = random(DType::F32, {2, Tk, Hkv, hd}, ++seed);
    cases.push_back({fmt::format("attention {} query heads over {} KV heads, hd {}, T={} past={}", Hq, Hkv, hd, T, past),
                     cpu::Kernel::attention, 2.0 * static_cast<double>(Hq * T * Tk) * (4 * hd + 5), 1e-5,
                     [=](const ops::Context& c) { return Outputs{ops::attention(c, q, k, v, {.scale = 0.125f, .past = past})}; }});
  }
  // A KV cache read in place: 16 slots of which the first past + T hold keys.
  const Tensor q = random(DType::F32, {2, 3, 4, 16}, 300), kc = random(DType::F32, {2, 16, 2, 16}, 301),
               vc = random(DType::F32, {2, 16, 2, 16}, 302);
  cases.push_back({"attention on a KV cache in place (keys 9 of 16, GQA 2)", cpu::Kernel::attention,
                   2.0 * 4 * 3 * 9 * (4 * 16 + 5), 1e-5, [=](const ops::Context& c) {
                     return Outputs{ops::attention(c, q, kc, vc, {.scale = 0.25f, .past = 6, .keys = 9})};
                   }});
  const Tensor src = random(DType::F32, {2, 3, 2, 16}, 303);
  cases.push_back({"write_time + slice_time", std::nullopt, 0, 0, [=](const ops::Context& c) {
                     Tensor cache = c.backend().zeros(DType::F32, {2, 8, 2, 16});
                     ops::write_time(c, cache, src, 4);
                     return Outputs{cache, ops::slice_time(c, cache, 3, 4)};
                   }});
  return cases;
}

std::vector<OpCase> ssm_cases() {
  std::vector<OpCase> cases;
  for (int64_t N : {16, 6}) {
    const int64_t B = 2, T = 5, H = 4, P = 6, G = 2;
    const auto seed = static_cast<uint32_t>(400 + N);
    const Tensor x = random(DType::F32, {B, T, H, P}, seed), Bm = random(DType::F32, {B, T, G, N}, seed + 1),
                 Cm = random(DType::F32, {B, T, G, N}, seed + 2), D = random(DType::F32, {H}, seed + 3),
                 dt = random(DType::F32, {B, T, H}, seed + 4, 0.01f, 1), A = random(DType::F32, {H}, seed + 5, -2, -0.1f),
                 state = random(DType::F32, {B, H, P, N}, seed + 6);
    cases.push_back({fmt::format("ssm_scan N={}", N), N % 8 == 0 ? std::optional(cpu::Kernel::ssm_scan) : std::nullopt,
                     static_cast<double>(B * T * H) * (5.0 * static_cast<double>(P * N) + 3.0 * P), 1e-5, [=](const ops::Context& c) {
                       Tensor s = clone(state);
                       const Tensor y = ops::ssm_scan(c, x, dt, A, Bm, Cm, D, s);
                       return Outputs{y, s};
                     }});
  }
  for (DType wd : {DType::F32, DType::BF16}) {
    const Tensor x = random(DType::F32, {2, 7, 10}, 500), w = random(wd, {10, 1, 4}, 501), b = random(DType::F32, {10}, 502),
                 state = random(DType::F32, {2, 10, 3}, 503);
    cases.push_back({fmt::format("causal_conv1d {} weights", dtype_name(wd)), cpu::Kernel::causal_conv1d,
                     2.0 * 2 * 7 * 10 * 4 + 2 * 7 * 10, 1e-5, [=](const ops::Context& c) {
                       Tensor s = clone(state);
                       const Tensor y = ops::causal_conv1d(c, x, w, &b, s);
                       return Outputs{y, s};
                     }});
  }
  return cases;
}

std::vector<OpCase> loss_cases() {
  const Tensor logits = random(DType::F32, {2, 3, 11}, 600, -5, 5);
  Tensor targets = ids_tensor({2, 3}, 11, 9);
  targets.data<int64_t>()[4] = -100;
  return {{"cross_entropy with an ignored position", std::nullopt, 5.0 * 66, 1e-6,
           [=](const ops::Context& c) { return Outputs{ops::cross_entropy(c, logits, targets)}; }}};
}

std::vector<OpCase> all_cases() {
  std::vector<OpCase> all;
  for (auto part : {linear_cases(), norm_cases(), elementwise_cases(), embedding_cases(), attention_cases(), ssm_cases(), loss_cases()})
    all.insert(all.end(), part.begin(), part.end());
  return all;
}

// The backends under test. CUDA runs through the bridge (host tensors in and out) and only where
// a GPU is present; elsewhere its instance reports itself skipped.
const std::vector<std::pair<std::string, std::shared_ptr<const backend::Backend>>>& backends() {
  static const std::vector<std::pair<std::string, std::shared_ptr<const backend::Backend>>> kBackends = {
      {"cpu", backend::cpu()},
      {"cuda", backend::cuda_available() ? std::make_shared<DeviceBridge>(backend::cuda()) : nullptr}};
  return kBackends;
}

// The tolerance of a case on a backend: the CUDA GEMM of half-precision weights rounds the
// activations to the weights' type (2e-2 relative, the bound the CUDA issue sets for bf16).
double tolerance(const std::string& backend, const OpCase& c) {
  const bool half_gemm = c.name.starts_with("linear") && (c.name.find("BF16") != std::string::npos || c.name.find("F16") != std::string::npos);
  return backend == "cuda" && half_gemm ? std::max(c.tol, 2e-2) : c.tol;
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  for (uint64_t i = 0; i < want.numel(); ++i) {
    const double a = element_f32(got, i), b = element_f32(want, i);
    if (got.dtype() == DType::I64) {
      ASSERT_EQ(got.data<int64_t>()[i], want.data<int64_t>()[i]) << what << " at " << i;
      continue;
    }
    ASSERT_TRUE(std::isfinite(a)) << what << " at " << i;
    ASSERT_NEAR(a, b, tol * (1 + std::abs(b))) << what << " at " << i;
  }
}

class OpTest : public ::testing::TestWithParam<size_t> {};

TEST_P(OpTest, EveryCaseMatchesTheReference) {
  const auto& [name, backend] = backends()[GetParam()];
  if (!backend) {
    std::string why;
    backend::cuda_available(&why);
    GTEST_SKIP() << name << ": " << why;
  }
  const ops::Context reference(std::make_shared<ReferenceBackend>());
  size_t fast_checked = 0;
  for (const OpCase& c : all_cases()) {
    SCOPED_TRACE(name + ": " + c.name);
    const Outputs want = c.run(reference);
    FlopCounter counter;
    const ops::Context ctx(backend, {&counter});
    const uint64_t before = c.fast ? cpu::fast_runs(*c.fast) : 0;
    const Outputs got = c.run(ctx);
    if (name == "cpu" && c.fast && cpu::have_avx2()) {
      EXPECT_GT(cpu::fast_runs(*c.fast), before) << "the fast " << cpu::kernel_name(*c.fast) << " kernel declined this case";
      ++fast_checked;
    }
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) expect_close(got[i], want[i], tolerance(name, c), fmt::format("output {}", i));
    EXPECT_DOUBLE_EQ(counter.flops, c.flops) << "reported FLOPs against the closed form";

    FlopCounter meta_counter;
    const ops::Context meta(std::make_shared<backend::MetaBackend>(), {&meta_counter});
    const Outputs shapes = c.run(meta);
    ASSERT_EQ(shapes.size(), want.size());
    for (size_t i = 0; i < shapes.size(); ++i) EXPECT_EQ(shapes[i].shape(), want[i].shape()) << "meta output " << i;
    EXPECT_DOUBLE_EQ(meta_counter.flops, c.flops) << "meta run FLOPs";
  }
  if (name == "cpu" && cpu::have_avx2()) {
    EXPECT_GT(fast_checked, 100u);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, OpTest, ::testing::Range<size_t>(0, 2),
                         [](const auto& info) { return backends()[info.param].first; });

// Shape errors name the op and the shapes (mlx style), on every backend and before any kernel.
TEST(OpShapes, ErrorsNameTheOp) {
  const ops::Context c(backend::cpu());
  const Tensor x = random(DType::F32, {1, 4, 8}, 1), w = random(DType::F32, {6, 7}, 2);
  const auto expect_shape_error = [](const std::function<void()>& f, const std::string& op) {
    try {
      f();
      ADD_FAILURE() << op << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::shape) << e.what();
      EXPECT_NE(std::string(e.what()).find("[" + op + "]"), std::string::npos) << e.what();
    }
  };
  expect_shape_error([&] { ops::linear(c, x, w, nullptr); }, "linear");
  expect_shape_error([&] { ops::rms_norm(c, x, w, 1e-5); }, "rms_norm");
  expect_shape_error([&] { ops::layer_norm(c, x, w, nullptr, 1e-5); }, "layer_norm");
  expect_shape_error([&] { ops::gated_rms_norm(c, x, x, random(DType::F32, {8}, 3), 3, 1e-5); }, "gated_rms_norm");
  expect_shape_error([&] { ops::add(c, x, random(DType::F32, {5}, 4)); }, "add");
  expect_shape_error([&] { ops::slice_last(c, x, 6, 4); }, "slice_last");
  expect_shape_error([&] { ops::clamp(c, x, 1.0f, 0.0f); }, "clamp");
  expect_shape_error([&] { ops::concat_last(c, x, random(DType::F32, {1, 3, 8}, 5)); }, "concat_last");
  expect_shape_error([&] { ops::rope(c, x, {1.0f}, 0); }, "rope");
  expect_shape_error([&] { ops::embedding(c, w, random(DType::F32, {1, 2}, 6)); }, "embedding");
  const Tensor q = random(DType::F32, {1, 3, 4, 8}, 7), k = random(DType::F32, {1, 2, 3, 8}, 8);
  expect_shape_error([&] { ops::attention(c, q, k, k, {}); }, "attention");  // 4 heads over 3 KV heads
  const Tensor k2 = random(DType::F32, {1, 2, 2, 8}, 9);
  expect_shape_error([&] { ops::attention(c, q, k2, k2, {.past = 0}); }, "attention");  // 3 causal queries, 2 keys
  expect_shape_error([&] { ops::attention(c, q, k2, k2, {.causal = false, .keys = 5}); }, "attention");
  Tensor state = Tensor::zeros(DType::F32, {1, 8, 2});
  expect_shape_error([&] { ops::causal_conv1d(c, x, random(DType::F32, {8, 1, 4}, 10), nullptr, state); }, "causal_conv1d");
  Tensor ssm_state = Tensor::zeros(DType::F32, {1, 2, 2, 8});
  expect_shape_error([&] {
    ops::ssm_scan(c, random(DType::F32, {1, 4, 2, 2}, 11), random(DType::F32, {1, 4, 3}, 12), random(DType::F32, {2}, 13),
                  random(DType::F32, {1, 4, 1, 8}, 14), random(DType::F32, {1, 4, 1, 8}, 15), random(DType::F32, {2}, 16), ssm_state);
  }, "ssm_scan");
  Tensor cache = Tensor::zeros(DType::F32, {1, 4, 8});
  expect_shape_error([&] { ops::write_time(c, cache, x, 1); }, "write_time");
  expect_shape_error([&] { ops::slice_time(c, x, 2, 3); }, "slice_time");
  Tensor bad_targets = ids_tensor({1, 4}, 20, 1);
  expect_shape_error([&] { ops::cross_entropy(c, x, bad_targets); }, "cross_entropy");
}

}  // namespace
}  // namespace anatomy::testing
