// Every prefill GEMM path of the linear op against the reference kernel, over shapes that reach
// each path's edges (rows not a multiple of the microkernel's 6, partial column panels, depths
// past one 256-deep block, row counts past one 192-row block), in each weight dtype and both weight
// layouts (nn.Linear's [N, K], GPT-2's Conv1D [K, N]); the plan
// sends each M to the path it names; copies made for a path are made once and never served to
// another weight at a freed one's address.
#include <gtest/gtest.h>

#include <cstring>

#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_kernels.h"
#include "backend/cpu/kernels.h"
#include "core/error.h"
#include "ops/ops.h"
#include "ops/tape.h"
#include "test_util.h"

namespace anatomy::cpu {
namespace {

float max_rel_diff(const Tensor& a, const Tensor& b) {
  float m = 0, scale = 1e-6f;
  for (uint64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::abs(a.data<float>()[i] - b.data<float>()[i]));
    scale = std::max(scale, std::abs(b.data<float>()[i]));
  }
  return m / scale;
}

// A weight as inference loads it: frozen, so that paths may keep copies of it.
Tensor frozen_weight(DType d, Shape shape, uint32_t seed) {
  Tensor w = test::random_tensor(d, std::move(shape), seed);
  w.storage()->freeze();
  return w;
}

Tensor reference(const Tensor& x, const Tensor& w, bool in_out = false) {
  Tensor ref = Tensor::empty(DType::F32, {x.dim(0), w.dim(in_out ? 1 : 0)});
  linear_reference(x, w, nullptr, in_out, ref);
  return ref;
}

struct Shape3 {
  int64_t M, N, K;
};

class LinearPaths : public ::testing::TestWithParam<LinearPath> {};

TEST_P(LinearPaths, EqualTheReferenceInEveryDtypeAndAtEveryEdge) {
  const LinearPath path = GetParam();
  if (const std::string why = path_unavailable(path); !why.empty()) GTEST_SKIP() << path_name(path) << ": " << why;
  const Shape3 shapes[] = {{2, 16, 8},  {5, 40, 48},    {6, 3, 7},  {8, 16, 300},  {9, 20, 33},
                           {13, 33, 300}, {200, 48, 520}, {64, 17, 1}, {385, 20, 64}};
  uint32_t seed = 1;
  for (const auto& s : shapes)
    for (DType d : {DType::F32, DType::BF16, DType::F16}) {
      SCOPED_TRACE(testing::Message() << path_name(path) << " " << dtype_name(d) << " M=" << s.M << " N=" << s.N << " K=" << s.K);
      const Tensor x = test::random_tensor(DType::F32, {s.M, s.K}, seed++);
      const Tensor w = frozen_weight(d, {s.N, s.K}, seed++);
      Tensor out = Tensor::empty(DType::F32, {s.M, s.N});
      const uint64_t runs = path_runs(path);
      ASSERT_TRUE(linear_through(path, x, w, out));
      EXPECT_EQ(path_runs(path), runs + 1);
      EXPECT_LT(max_rel_diff(out, reference(x, w)), 1e-5f);
      // GPT-2's Conv1D layout, W stored [K, N]: every path but the register-blocked one.
      const Tensor w_in_out = frozen_weight(d, {s.K, s.N}, seed++);
      if (path == LinearPath::registers) {
        EXPECT_FALSE(linear_through(path, x, w_in_out, out, true));
        continue;
      }
      ASSERT_TRUE(linear_through(path, x, w_in_out, out, true));
      EXPECT_EQ(path_runs(path), runs + 2);
      EXPECT_LT(max_rel_diff(out, reference(x, w_in_out, true)), 1e-5f);
    }
}

INSTANTIATE_TEST_SUITE_P(Backend, LinearPaths, ::testing::ValuesIn(kLinearPaths),
                         [](const auto& info) { return std::string(path_name(info.param)); });

TEST(LinearPlan, SendsEachRangeOfMToItsPath) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2: only oneDNN runs here";
  const test::ScopedLinearPlan plan({{{DType::BF16, 2, LinearPath::registers}, {DType::BF16, 9, LinearPath::packed},
                                     {DType::BF16, 30, LinearPath::onednn}},
                                    "test plan"});
  EXPECT_EQ(planned_path(DType::BF16, 8), LinearPath::registers);
  EXPECT_EQ(planned_path(DType::BF16, 9), LinearPath::packed);
  EXPECT_EQ(planned_path(DType::BF16, 500), LinearPath::onednn);
  EXPECT_EQ(planned_path(DType::F32, 100), LinearPath::onednn);  // no step: oneDNN
  const Tensor w = frozen_weight(DType::BF16, {24, 40}, 7);
  for (const auto& [M, path] : {std::pair{4, LinearPath::registers}, {12, LinearPath::packed}, {31, LinearPath::onednn}}) {
    const Tensor x = test::random_tensor(DType::F32, {M, 40}, static_cast<uint32_t>(M));
    Tensor out = Tensor::empty(DType::F32, {M, 24});
    const uint64_t runs = path_runs(path);
    ASSERT_TRUE(linear_fast(x, w, nullptr, false, out));
    EXPECT_EQ(path_runs(path), runs + 1) << "M=" << M;
    EXPECT_LT(max_rel_diff(out, reference(x, w)), 1e-5f);
  }
}

TEST(LinearPlan, RefusesAPathThatDoesNotRunHere) {
  for (LinearPath p : kLinearPaths) {
    if (path_unavailable(p).empty()) continue;
    try {
      set_linear_plan({{{DType::F32, 2, p}}, "plan.json"});
      FAIL() << path_name(p) << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("plan.json"), std::string::npos) << e.what();
    }
  }
}

TEST(PreparedWeights, MadeOncePerWeightAndNeverServedToAnother) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2: no copies are made";
  const Tensor x = test::random_tensor(DType::F32, {20, 48}, 1);
  for (LinearPath form : {LinearPath::packed, LinearPath::onednn}) {
    {
      const Tensor w = frozen_weight(DType::BF16, {40, 48}, 2);
      Tensor out = Tensor::empty(DType::F32, {20, 40});
      ASSERT_TRUE(linear_through(form, x, w, out));
      const uint64_t after_first = prepared_weight_bytes();
      EXPECT_GE(after_first, 40u * 48u * sizeof(float));  // copies of freed weights may have been dropped
      ASSERT_TRUE(linear_through(form, x, w, out));  // served from the copy
      EXPECT_EQ(prepared_weight_bytes(), after_first);
    }
    // The first weight is gone; new ones (perhaps at its address) get copies of their own values.
    for (uint32_t seed = 3; seed < 8; ++seed) {
      const Tensor w = frozen_weight(seed % 2 ? DType::BF16 : DType::F16, {40, 48}, seed);
      Tensor out = Tensor::empty(DType::F32, {20, 40});
      ASSERT_TRUE(linear_through(form, x, w, out));
      EXPECT_LT(max_rel_diff(out, reference(x, w)), 1e-5f);
    }
  }
}

// Weights that may change (training updates them in place, gradient checks perturb them) never
// get a copy: the planned packed path declines and oneDNN reads the stored weight, so a change is
// seen by the next call.
TEST(PreparedWeights, NeverForWeightsThatMayChange) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2: no copies are made";
  const test::ScopedLinearPlan plan({{{DType::F32, 2, LinearPath::packed}}, "test plan"});
  const Tensor x = test::random_tensor(DType::F32, {20, 48}, 1);
  Tensor w = test::random_tensor(DType::F32, {40, 48}, 2);
  Tensor out = Tensor::empty(DType::F32, {20, 40});
  EXPECT_FALSE(linear_through(LinearPath::packed, x, w, out));
  for (int step = 0; step < 2; ++step) {
    const uint64_t onednn = path_runs(LinearPath::onednn), packed = path_runs(LinearPath::packed);
    ASSERT_TRUE(linear_fast(x, w, nullptr, false, out));
    EXPECT_EQ(path_runs(LinearPath::onednn), onednn + 1);
    EXPECT_EQ(path_runs(LinearPath::packed), packed);
    EXPECT_LT(max_rel_diff(out, reference(x, w)), 1e-5f);
    w.data<float>()[5] += 1.0f;  // an optimizer step
  }
}

// A half weight's decode panels come before another weight's prefill copy: with room left for one
// more prefill copy but not for it and the first weight's panels, the second prefill copy is
// refused (first come, first served would make it and refuse the panels), the first weight's panels
// are made, and the refusal is remembered (decode would otherwise retry it every token); panels
// refused give their room back.
TEST(PreparedWeights, DecodePanelsComeBeforeAnotherWeightsPrefillCopy) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2: no copies are made";
  const int64_t N = 96, K = 80;
  const Tensor a = frozen_weight(DType::BF16, {N, K}, 1), b = frozen_weight(DType::BF16, {N, K}, 2);
  const Tensor x = test::random_tensor(DType::F32, {4, K}, 3), row = test::random_tensor(DType::F32, {1, K}, 4);
  Tensor out = Tensor::empty(DType::F32, {4, N}), out_row = Tensor::empty(DType::F32, {1, N});
  ASSERT_TRUE(linear_through(LinearPath::packed, x, a, out));  // a's copy; room for its panels kept
  const uint64_t prefill = static_cast<uint64_t>(packed_weight_floats(N, K)) * sizeof(float);
  const uint64_t panels = static_cast<uint64_t>(gemv_panel_elements(N, K)) * sizeof(uint16_t);
  ASSERT_EQ(prefill % 64 + panels % 64, 0u);
  ASSERT_GT(panels, 64u);
  set_prepared_budget(prepared_weight_bytes() + prefill + panels - 64);
  EXPECT_FALSE(linear_through(LinearPath::packed, x, b, out)) << "b's copy would take a's panels' room";
  const uint64_t runs = panel_gemv_runs(), held = prepared_weight_bytes();
  ASSERT_TRUE(linear_fast(row, a, nullptr, false, out_row));
  EXPECT_EQ(panel_gemv_runs(), runs + 1) << "a's panels were made";
  EXPECT_EQ(prepared_weight_bytes(), held + panels);
  EXPECT_LT(max_rel_diff(out_row, reference(row, a)), 1e-5f);
  set_prepared_budget(0);  // room again, but a refusal holds while the weight lives
  EXPECT_FALSE(linear_through(LinearPath::packed, x, b, out));
  // Panels refused give back the room their weight's prefill copy kept for them.
  const Tensor c = frozen_weight(DType::BF16, {N, K}, 5), d = frozen_weight(DType::BF16, {N, K}, 6);
  ASSERT_TRUE(linear_through(LinearPath::packed, x, c, out));
  set_prepared_budget(prepared_weight_bytes() + panels - 64);
  const uint64_t c_runs = panel_gemv_runs();
  ASSERT_TRUE(linear_fast(row, c, nullptr, false, out_row));
  EXPECT_EQ(panel_gemv_runs(), c_runs) << "c's panels do not fit: its rows are read";
  EXPECT_LT(max_rel_diff(out_row, reference(row, c)), 1e-5f);
  set_prepared_budget(prepared_weight_bytes() + prefill + panels);
  EXPECT_TRUE(linear_through(LinearPath::packed, x, d, out)) << "c's room was given back";
  set_prepared_budget(0);
}

// Projections of one input as one GEMM: each output exactly what the packed path gives that weight
// alone (the same kernel over the same panels), and the gated form — activation and product in the
// epilogue — equal to the reference composition, at the kernel's edges (rows past a 192-row block,
// partial panels, depths past one 256-deep block), in each dtype.
TEST(FusedProjections, EqualEachProjectionAloneAndTheReference) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2: projections run one by one";
  const test::ScopedLinearPlan plan({{{DType::F32, 2, LinearPath::packed}, {DType::BF16, 2, LinearPath::packed},
                                     {DType::F16, 2, LinearPath::packed}},
                                    "test plan"});
  uint32_t seed = 100;
  for (const auto& s : {Shape3{2, 40, 8}, Shape3{9, 33, 300}, Shape3{200, 20, 520}, Shape3{385, 48, 64}})
    for (DType d : {DType::F32, DType::BF16, DType::F16}) {
      SCOPED_TRACE(testing::Message() << dtype_name(d) << " M=" << s.M << " N=" << s.N << " K=" << s.K);
      const Tensor x = test::random_tensor(DType::F32, {s.M, s.K}, seed++);
      const std::vector<Tensor> ws{frozen_weight(d, {s.N, s.K}, seed++), frozen_weight(d, {16, s.K}, seed++),
                                   frozen_weight(d, {3, s.K}, seed++)};
      ASSERT_TRUE(fuses_linears(x, ws, std::nullopt));
      std::vector<Tensor> outs;
      for (const Tensor& w : ws) outs.push_back(Tensor::empty(DType::F32, {s.M, w.dim(0)}));
      const uint64_t fused = fast_runs(Kernel::linear_group);
      ASSERT_TRUE(linear_group(x, ws, {nullptr, nullptr, nullptr}, outs));
      EXPECT_EQ(fast_runs(Kernel::linear_group), fused + 1);
      for (size_t i = 0; i < ws.size(); ++i) {
        Tensor alone = Tensor::empty(DType::F32, outs[i].shape());
        ASSERT_TRUE(linear_through(LinearPath::packed, x, ws[i], alone));
        EXPECT_EQ(std::memcmp(alone.raw(), outs[i].raw(), alone.nbytes()), 0) << "projection " << i;
        EXPECT_LT(max_rel_diff(outs[i], reference(x, ws[i])), 1e-5f);
      }
      for (Activation act : {Activation::silu, Activation::gelu, Activation::relu}) {
        const Tensor up = frozen_weight(d, {s.N, s.K}, seed++);
        Tensor out = Tensor::empty(DType::F32, {s.M, s.N}), gate = reference(x, ws[0]), activated = gate;
        const uint64_t gated = fast_runs(Kernel::gated_linear);
        ASSERT_TRUE(gated_linear(x, ws[0], up, act, out));
        EXPECT_EQ(fast_runs(Kernel::gated_linear), gated + 1);
        activation_reference(gate, act, activated);
        Tensor want = Tensor::empty(DType::F32, {s.M, s.N});
        binary_reference(activated, reference(x, up), BinaryOp::mul, want);
        EXPECT_LT(max_rel_diff(out, want), 1e-5f) << activation_name(act);
      }
    }
  // What the fused path does not take: weights that may change, mixed dtypes, softplus.
  const Tensor x = test::random_tensor(DType::F32, {8, 40}, 1);
  const Tensor w = frozen_weight(DType::F32, {24, 40}, 2), half = frozen_weight(DType::BF16, {24, 40}, 3);
  EXPECT_FALSE(fuses_linears(x, {w, test::random_tensor(DType::F32, {24, 40}, 4)}, std::nullopt));
  EXPECT_FALSE(fuses_linears(x, {w, half}, std::nullopt));
  EXPECT_FALSE(fuses_linears(x, {w, w}, Activation::softplus));
  set_linear_plan({{{DType::F32, 2, LinearPath::onednn}}, "test plan"});
  EXPECT_FALSE(fuses_linears(x, {w, w}, std::nullopt)) << "another path planned";
}

// Decode's one row: the projections' rows as one list in one GEMV region, each output exactly what
// the GEMV gives that weight alone (rows are summed the same way wherever a thread's share starts),
// and the gated form equal to the reference composition — weights frozen (half precision: read
// from their panel form, which must have run) or not (rows read in place), rows not a multiple of
// the GEMV's 2, the epilogue's 8 or a 64-column panel, depths not a multiple of 16 and past 4096,
// one row per weight; frozen f32 weights through the prefill's panels; GPT-2's
// Conv1D layout through its own panel form.
TEST(FusedProjections, OneRowEqualsEachProjectionAloneAndTheReference) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2: projections run one by one";
  uint32_t seed = 300;
  for (const auto& s : {Shape3{1, 40, 8}, Shape3{1, 130, 300}, Shape3{1, 1, 520}, Shape3{1, 517, 64}, Shape3{1, 37, 4100}})
    for (DType d : {DType::F32, DType::BF16, DType::F16})
      for (bool frozen : {true, false}) {
        SCOPED_TRACE(testing::Message() << dtype_name(d) << " N=" << s.N << " K=" << s.K << (frozen ? " frozen" : ""));
        auto weight = [&](Shape shape) {
          return frozen ? frozen_weight(d, std::move(shape), seed++) : test::random_tensor(d, std::move(shape), seed++);
        };
        const Tensor x = test::random_tensor(DType::F32, {1, s.K}, seed++);
        const std::vector<Tensor> ws{weight({s.N, s.K}), weight({16, s.K}), weight({3, s.K})};
        ASSERT_TRUE(fuses_linears(x, ws, std::nullopt));
        std::vector<Tensor> outs;
        for (const Tensor& w : ws) outs.push_back(Tensor::empty(DType::F32, {1, w.dim(0)}));
        const uint64_t fused = fast_runs(Kernel::linear_group), panels = panel_gemv_runs(),
                       packed = path_runs(LinearPath::packed);
        const bool half = d != DType::F32;
        ASSERT_TRUE(linear_group(x, ws, {nullptr, nullptr, nullptr}, outs));
        EXPECT_EQ(fast_runs(Kernel::linear_group), fused + 1);
        EXPECT_EQ(panel_gemv_runs(), panels + (frozen && half ? 1 : 0)) << "the panel form runs for frozen half weights only";
        EXPECT_EQ(path_runs(LinearPath::packed), packed + (frozen && !half ? 1 : 0)) << "frozen f32: the prefill's panels";
        for (size_t i = 0; i < ws.size(); ++i) {
          Tensor alone = Tensor::empty(DType::F32, outs[i].shape());
          ASSERT_TRUE(linear_fast(x, ws[i], nullptr, false, alone));
          EXPECT_EQ(std::memcmp(alone.raw(), outs[i].raw(), alone.nbytes()), 0) << "projection " << i;
          EXPECT_LT(max_rel_diff(outs[i], reference(x, ws[i])), 1e-5f);
        }
        for (Activation act : {Activation::silu, Activation::gelu_tanh, Activation::relu2}) {
          const Tensor up = weight({s.N, s.K});
          ASSERT_TRUE(fuses_linears(x, {ws[0], up}, act));
          Tensor out = Tensor::empty(DType::F32, {1, s.N}), gate = reference(x, ws[0]), activated = gate;
          const uint64_t gated = fast_runs(Kernel::gated_linear), gated_panels = panel_gemv_runs(),
                         gated_packed = path_runs(LinearPath::packed);
          ASSERT_TRUE(gated_linear(x, ws[0], up, act, out));
          EXPECT_EQ(fast_runs(Kernel::gated_linear), gated + 1);
          EXPECT_EQ(panel_gemv_runs(), gated_panels + (frozen && half ? 1 : 0));
          EXPECT_EQ(path_runs(LinearPath::packed), gated_packed + (frozen && !half ? 1 : 0));
          activation_reference(gate, act, activated);
          Tensor want = Tensor::empty(DType::F32, {1, s.N});
          binary_reference(activated, reference(x, up), BinaryOp::mul, want);
          EXPECT_LT(max_rel_diff(out, want), 1e-5f) << activation_name(act);
        }
      }
  // GPT-2's Conv1D layout [K, N], frozen: half weights read through a panel form packed from
  // columns, f32 ones through the prefill's panels.
  for (DType d : {DType::F32, DType::BF16, DType::F16})
    for (const auto& s : {Shape3{1, 37, 4100}, Shape3{1, 768, 300}}) {
      SCOPED_TRACE(testing::Message() << "Conv1D " << dtype_name(d) << " N=" << s.N << " K=" << s.K);
      const Tensor x = test::random_tensor(DType::F32, {1, s.K}, seed++), w = frozen_weight(d, {s.K, s.N}, seed++);
      Tensor out = Tensor::empty(DType::F32, {1, s.N});
      const uint64_t panels = panel_gemv_runs(), packed = path_runs(LinearPath::packed);
      ASSERT_TRUE(linear_fast(x, w, nullptr, true, out));
      EXPECT_EQ(panel_gemv_runs(), panels + (d == DType::F32 ? 0 : 1));
      EXPECT_EQ(path_runs(LinearPath::packed), packed + (d == DType::F32 ? 1 : 0));
      EXPECT_LT(max_rel_diff(out, reference(x, w, true)), 1e-5f);
    }
  const Tensor x = test::random_tensor(DType::F32, {1, 40}, 1);
  const Tensor w = frozen_weight(DType::F32, {24, 40}, 2), half = frozen_weight(DType::BF16, {24, 40}, 3);
  EXPECT_FALSE(fuses_linears(x, {w, half}, std::nullopt));
  EXPECT_FALSE(fuses_linears(x, {w, w}, Activation::softplus));
  EXPECT_FALSE(fuses_linears(x, {w, frozen_weight(DType::F32, {24, 41}, 4)}, std::nullopt)) << "another depth";
}

// While a tape records (training), the model never asks for the fused forms, which have no
// backward step; called anyway, they refuse rather than drop the gradient.
TEST(FusedProjections, NeverUnderATape) {
  if (!have_avx2()) GTEST_SKIP() << "no AVX2: projections run one by one";
  const test::ScopedLinearPlan plan({{{DType::F32, 2, LinearPath::packed}}, "test plan"});
  const Tensor x = test::random_tensor(DType::F32, {8, 40}, 1);
  const Tensor w = frozen_weight(DType::F32, {24, 40}, 2);
  ops::Context c(backend::cpu());
  EXPECT_TRUE(ops::fuses_linears(c, x, {w, w}));
  ops::Tape tape(backend::cpu());
  c.set_tape(&tape);
  EXPECT_FALSE(ops::fuses_linears(c, x, {w, w}));
  EXPECT_FALSE(ops::fuses_linears(c, x, {w, w}, Activation::silu));
  EXPECT_THROW(ops::linear_group(c, x, {w, w}, {nullptr, nullptr}), Error);
  EXPECT_THROW(ops::gated_linear(c, x, w, w, Activation::silu), Error);
}

}  // namespace
}  // namespace anatomy::cpu
