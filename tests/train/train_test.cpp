// The training layer: every op's backward step against central differences of its forward (each
// op alone, on the CPU backend), the fast backward kernels against their references, the tape's
// rules (tied weights, views, unused outputs, the meta plan), the optimizers' update rules, the
// schedule, clipping, data batches and checkpoints. Whole models are checked against PyTorch in
// tests/golden/grad_check.py and tests/torch/train_check.py.
#include <array>
#include <cmath>
#include <functional>
#include <cstring>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "backend/cpu/kernels.h"
#include "ops/ops.h"
#include "ops/tape.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "train/data.h"
#include "train/optimizer.h"
#include "train/parallel.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "small_configs.h"
#include <omp.h>

namespace anatomy {
namespace {

using Leaves = std::vector<Tensor>;
using Op = std::function<Tensor(const ops::Context&, const Leaves&)>;

Tensor random(Shape shape, uint64_t seed, float scale = 1.0f) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  Tensor t = Tensor::empty(DType::F32, std::move(shape));
  for (uint64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(g);
  return t;
}

Tensor ids(Shape shape, std::vector<int64_t> values) {
  Tensor t = Tensor::empty(DType::I64, std::move(shape));
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

// Σ op(leaves) ⊙ r, in double.
double weighted(const Tensor& out, const Tensor& r) {
  double s = 0;
  for (uint64_t i = 0; i < out.numel(); ++i) s += static_cast<double>(out.data<float>()[i]) * r.data<float>()[i];
  return s;
}

// The tape's gradient of Σ op ⊙ r against central differences at a few elements of every leaf.
void check_gradients(const std::string& name, Leaves leaves, const Op& op, double eps = 1e-2, double tol = 2e-2) {
  SCOPED_TRACE(name);
  auto cpu = backend::cpu();
  const ops::Context plain(cpu);
  const Tensor probe = op(plain, leaves);
  const Tensor r = random(probe.shape(), 99);
  ops::Tape tape(cpu);
  std::vector<Tensor> grads;
  for (const Tensor& l : leaves) {
    grads.push_back(Tensor::zeros(DType::F32, l.shape()));
    tape.bind(l, grads.back());
  }
  ops::Context ctx(cpu);
  ctx.set_tape(&tape);
  const Tensor out = op(ctx, leaves);
  tape.backward(out, r);
  for (size_t k = 0; k < leaves.size(); ++k) {
    float* x = leaves[k].data<float>();
    const uint64_t n = leaves[k].numel();
    for (uint64_t i = 0; i < n; i += std::max<uint64_t>(1, n / 7)) {
      const float saved = x[i];
      x[i] = saved + static_cast<float>(eps);
      const double up = weighted(op(plain, leaves), r);
      x[i] = saved - static_cast<float>(eps);
      const double down = weighted(op(plain, leaves), r);
      x[i] = saved;
      const double numeric = (up - down) / (2 * eps), analytic = grads[k].data<float>()[i];
      EXPECT_NEAR(analytic, numeric, tol * std::max(1.0, std::abs(numeric))) << "leaf " << k << " element " << i;
    }
  }
}

TEST(Backward, EveryOpAgainstCentralDifferences) {
  check_gradients("linear", {random({2, 3, 5}, 1), random({4, 5}, 2), random({4}, 3)},
                  [](auto& c, auto& l) { return ops::linear(c, l[0], l[1], &l[2]); });
  check_gradients("linear [in, out]", {random({2, 3, 5}, 1), random({5, 4}, 2)},
                  [](auto& c, auto& l) { return ops::linear(c, l[0], l[1], nullptr, ops::OpClass::linear, true); });
  check_gradients("layer_norm", {random({2, 3, 8}, 4), random({8}, 5), random({8}, 6)},
                  [](auto& c, auto& l) { return ops::layer_norm(c, l[0], l[1], &l[2], 1e-5); });
  check_gradients("rms_norm", {random({2, 3, 8}, 7), random({8}, 8)},
                  [](auto& c, auto& l) { return ops::rms_norm(c, l[0], l[1], 1e-6); });
  check_gradients("gated_rms_norm", {random({2, 3, 8}, 9), random({2, 3, 8}, 10), random({8}, 11)},
                  [](auto& c, auto& l) { return ops::gated_rms_norm(c, l[0], l[1], l[2], 2, 1e-5); });
  for (Activation a : {Activation::silu, Activation::gelu, Activation::gelu_tanh, Activation::relu, Activation::relu2,
                       Activation::softplus})
    check_gradients(activation_name(a), {random({3, 13}, 12, 2.0f)}, [a](auto& c, auto& l) { return ops::activation(c, l[0], a); });
  check_gradients("add (broadcast)", {random({3, 4, 6}, 13), random({6}, 14)}, [](auto& c, auto& l) { return ops::add(c, l[0], l[1]); });
  check_gradients("mul (broadcast)", {random({3, 4, 6}, 15), random({4, 6}, 16)}, [](auto& c, auto& l) { return ops::mul(c, l[0], l[1]); });
  check_gradients("mul", {random({3, 6}, 17), random({3, 6}, 18)}, [](auto& c, auto& l) { return ops::mul(c, l[0], l[1]); });
  check_gradients("neg_exp", {random({5}, 19)}, [](auto& c, auto& l) { return ops::neg_exp(c, l[0]); });
  Tensor spread = Tensor::empty(DType::F32, {20});  // no element within eps of a bound (the kinks)
  for (int i = 0; i < 20; ++i) spread.data<float>()[i] = -0.95f + 0.1f * static_cast<float>(i);
  check_gradients("clamp", {spread}, [](auto& c, auto& l) { return ops::clamp(c, l[0], -0.5f, 0.6f); });
  check_gradients("slice_last", {random({2, 3, 9}, 21)}, [](auto& c, auto& l) { return ops::slice_last(c, l[0], 2, 5); });
  check_gradients("concat_last", {random({2, 3}, 22), random({2, 4}, 23)}, [](auto& c, auto& l) { return ops::concat_last(c, l[0], l[1]); });
  check_gradients("rope", {random({1, 5, 2, 8}, 24)}, [](auto& c, auto& l) {
    return ops::rope(c, l[0], {1.0f, 0.3f, 0.1f, 0.01f}, 3);
  });
  check_gradients("embedding", {random({7, 4}, 25)}, [](auto& c, auto& l) { return ops::embedding(c, l[0], ids({2, 3}, {1, 6, 1, 0, 3, 1})); });
  check_gradients("cross_entropy", {random({2, 3, 7}, 26, 3.0f)}, [](auto& c, auto& l) {
    return ops::cross_entropy(c, l[0], ids({2, 3}, {1, 6, -100, 0, 3, 2}));
  });
  check_gradients("slice_time", {random({2, 6, 3}, 27)}, [](auto& c, auto& l) { return ops::slice_time(c, l[0], 2, 3); });
  check_gradients("causal_conv1d", {random({2, 6, 3}, 28), random({3, 1, 4}, 29), random({3}, 30)}, [](auto& c, auto& l) {
    Tensor state = Tensor::zeros(DType::F32, {2, 3, 3});
    return ops::causal_conv1d(c, l[0], l[1], &l[2], state);
  });
  check_gradients("ssm_scan", {random({2, 5, 4, 3}, 31), random({2, 5, 4}, 32, 0.5f), random({4}, 33), random({2, 5, 2, 3}, 34),
                               random({2, 5, 2, 3}, 35), random({4}, 36)},
                  [](auto& c, auto& l) {
                    Tensor dt = ops::activation(c, l[1], Activation::softplus);  // Δ > 0, as in Mamba2
                    Tensor state = Tensor::zeros(DType::F32, {2, 4, 3, 3});
                    return ops::ssm_scan(c, l[0], dt, ops::neg_exp(c, l[2]), l[3], l[4], l[5], state);
                  });
}

TEST(Backward, AttentionWithEveryMaskThroughTheCache) {
  for (float fill : {-INFINITY, -10000.0f})
    for (int64_t window : {0, 3}) {
      const Tensor kp = ids({2, 7}, {1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0});
      Tensor key_keep = Tensor::empty(DType::F32, {2, 7});
      for (int i = 0; i < 14; ++i) key_keep.data<float>()[i] = static_cast<float>(kp.data<int64_t>()[i]);
      check_gradients(fmt::format("attention fill {} window {}", fill, window),
                      {random({2, 5, 4, 6}, 40), random({2, 5, 2, 6}, 41), random({2, 5, 2, 6}, 42)},
                      [&](auto& c, auto& l) {
                        // Two cached steps before these five, as a KV cache holds them.
                        Tensor kc = Tensor::zeros(DType::F32, {2, 8, 2, 6}), vc = Tensor::zeros(DType::F32, {2, 8, 2, 6});
                        ops::write_time(c, kc, random({2, 2, 2, 6}, 43), 0);
                        ops::write_time(c, vc, random({2, 2, 2, 6}, 44), 0);
                        ops::write_time(c, kc, l[1], 2);
                        ops::write_time(c, vc, l[2], 2);
                        ops::AttentionOptions o{.scale = 0.4f, .past = 2, .keys = 7, .window = window, .masked_value = fill,
                                                .key_padding = &key_keep};
                        return ops::attention(c, l[0], kc, vc, o);
                      });
    }
  // 17 queries: the GEMM form, which keeps its probabilities for the backward pass under a tape.
  check_gradients("attention keeping its probabilities",
                  {random({1, 17, 2, 4}, 45), random({1, 17, 1, 4}, 46), random({1, 17, 1, 4}, 47)},
                  [](auto& c, auto& l) { return ops::attention(c, l[0], l[1], l[2], {.scale = 0.5f}); });
}

TEST(Backward, FastKernelsMatchTheirReferences) {
  if (!cpu::have_avx2()) GTEST_SKIP() << "no AVX2: the fast kernels do not run here";
  const Tensor q = random({2, 40, 4, 8}, 50), k = random({2, 48, 2, 8}, 51), v = random({2, 48, 2, 8}, 52),
               dout = random({2, 40, 32}, 53);
  Tensor qp = Tensor::empty(DType::F32, {2, 40});
  for (int i = 0; i < 80; ++i) qp.data<float>()[i] = i % 9 == 4 ? 0.0f : 1.0f;
  Tensor keep40 = Tensor::empty(DType::F32, {2, 44});
  for (int i = 0; i < 88; ++i) keep40.data<float>()[i] = i % 7 == 3 ? 0.0f : 1.0f;
  // Two blocks of queries (32 + 8), each multiplying only the keys its rows can weigh when the fill is
  // −∞; without key padding a row's softmax runs over its span alone (exact_row), with it per key.
  for (int64_t window : {0, 9})
    for (float fill : {-INFINITY, -10000.0f})
      for (const Tensor* kp : std::array<const Tensor*, 2>{nullptr, &keep40}) {
        const backend::AttentionArgs a{.scale = 0.35f, .causal = true, .past = 4, .keys = 44, .window = window,
                                       .masked_value = fill, .key_padding = kp,
                                       .query_padding = fill < -1e30f ? nullptr : &qp};
        Tensor g[2][3];
        for (auto& set : g)
          for (int i = 0; i < 3; ++i) set[i] = Tensor::zeros(DType::F32, i == 0 ? q.shape() : k.shape());
        cpu::attention_backward_reference(q, k, v, a, dout, g[0][0], g[0][1], g[0][2]);
        ASSERT_TRUE(cpu::attention_backward_gemm(q, k, v, a, dout, g[1][0], g[1][1], g[1][2]));
        for (int i = 0; i < 3; ++i)
          for (uint64_t j = 0; j < g[0][i].numel(); ++j)
            ASSERT_NEAR(g[1][i].data<float>()[j], g[0][i].data<float>()[j], 1e-4)
                << "gradient " << i << " element " << j << " window " << window << " fill " << fill << " padded " << !!kp;
        // Probabilities kept by the forward pass: the same output and the same gradients, bit for bit,
        // as when the backward pass recomputes them.
        ASSERT_TRUE(cpu::attention_keeps_probabilities(q));
        Tensor P = Tensor::empty(DType::F32, {2, q.dim(2), 40, 44});
        backend::AttentionArgs kept = a;
        kept.probabilities = &P;
        Tensor out[2] = {Tensor::empty(DType::F32, {2, 40, q.dim(2) * q.dim(3)}),
                         Tensor::empty(DType::F32, {2, 40, q.dim(2) * q.dim(3)})};
        ASSERT_TRUE(cpu::attention_gemm(q, k, v, a, out[0]));
        ASSERT_TRUE(cpu::attention_gemm(q, k, v, kept, out[1]));
        EXPECT_EQ(std::memcmp(out[0].raw(), out[1].raw(), out[0].nbytes()), 0) << "forward keeping the probabilities";
        Tensor gk[3];
        for (int i = 0; i < 3; ++i) gk[i] = Tensor::zeros(DType::F32, i == 0 ? q.shape() : k.shape());
        ASSERT_TRUE(cpu::attention_backward_gemm(q, k, v, kept, dout, gk[0], gk[1], gk[2]));
        for (int i = 0; i < 3; ++i)
          EXPECT_EQ(std::memcmp(gk[i].raw(), g[1][i].raw(), gk[i].nbytes()), 0)
              << "gradient " << i << " from kept probabilities, window " << window << " fill " << fill << " padded " << !!kp;
      }
  // The forward against the reference: as GEMMs per head over three blocks of queries (70), and by
  // rows below kGemmAttentionFrom (decode-sized, 5): causal with and without a window, with and without
  // padded keys, a −∞ fill (blocks skip keys) and a finite one.
  for (int64_t T : {int64_t{70}, cpu::kGemmAttentionFrom - 11}) {
    const Tensor lq = random({2, T, 4, 8}, 57), lk = random({2, 80, 2, 8}, 58), lv = random({2, 80, 2, 8}, 59);
    Tensor keep = Tensor::empty(DType::F32, {2, T + 4});
    for (int64_t i = 0; i < keep.dim(1) * 2; ++i) keep.data<float>()[i] = i % 11 == 7 ? 0.0f : 1.0f;
    for (int64_t window : {0, 9})
      for (float fill : {-INFINITY, -10000.0f})
        for (const Tensor* kp : std::array<const Tensor*, 2>{nullptr, &keep}) {
          const backend::AttentionArgs a{.scale = 0.35f, .causal = true, .past = 4, .keys = T + 4, .window = window,
                                         .masked_value = fill, .key_padding = kp};
          Tensor ref = Tensor::empty(DType::F32, {2, T, 32}), fast = Tensor::empty(DType::F32, {2, T, 32});
          cpu::attention_reference(lq, lk, lv, a, ref);
          if (T >= cpu::kGemmAttentionFrom) ASSERT_TRUE(cpu::attention_gemm(lq, lk, lv, a, fast));
          else ASSERT_TRUE(cpu::attention_fast(lq, lk, lv, a, fast));
          for (uint64_t j = 0; j < ref.numel(); ++j)
            ASSERT_NEAR(fast.data<float>()[j], ref.data<float>()[j], 1e-5)
                << "T " << T << " window " << window << " fill " << fill << " padded " << !!kp << " " << j;
        }
  }
  for (Activation act : {Activation::silu, Activation::gelu, Activation::relu}) {
    const Tensor x = random({3, 37}, 54, 4.0f), dy = random({3, 37}, 55);
    Tensor ref = random({3, 37}, 56), fast = Tensor::empty(DType::F32, {3, 37});
    std::copy(ref.data<float>(), ref.data<float>() + ref.numel(), fast.data<float>());
    cpu::activation_backward_reference(x, act, dy, ref);
    ASSERT_TRUE(cpu::activation_backward_fast(x, act, dy, fast));
    for (uint64_t j = 0; j < x.numel(); ++j) ASSERT_NEAR(fast.data<float>()[j], ref.data<float>()[j], 2e-6) << activation_name(act);
  }
  // The norms' backward in float against the double references: dx, dw (and LayerNorm's db)
  // accumulated onto what the buffers held, over enough rows to split across threads.
  const Tensor x = random({300, 120}, 62, 3.0f), w = random({120}, 63), dy = random({300, 120}, 64);
  const auto copy = [](const Tensor& t) {
    Tensor c = Tensor::empty(DType::F32, t.shape());
    std::copy(t.data<float>(), t.data<float>() + t.numel(), c.data<float>());
    return c;
  };
  const auto expect_near = [](const Tensor& fast, const Tensor& ref, const char* what) {
    for (uint64_t j = 0; j < ref.numel(); ++j)
      ASSERT_NEAR(fast.data<float>()[j], ref.data<float>()[j], 2e-5 * std::max(1.0f, std::abs(ref.data<float>()[j])))
          << what << " " << j;
  };
  for (bool layer : {false, true}) {
    Tensor ref[3] = {random({300, 120}, 65), random({120}, 66), random({120}, 67)};
    Tensor fast[3] = {copy(ref[0]), copy(ref[1]), copy(ref[2])};
    if (layer) {
      cpu::layer_norm_backward_reference(x, w, 1e-5f, dy, ref[0], &ref[1], &ref[2]);
      ASSERT_TRUE(cpu::layer_norm_backward_fast(x, w, 1e-5f, dy, fast[0], &fast[1], &fast[2]));
    } else {
      cpu::rms_norm_backward_reference(x, w, 1e-6f, dy, ref[0], &ref[1]);
      ASSERT_TRUE(cpu::rms_norm_backward_fast(x, w, 1e-6f, dy, fast[0], &fast[1]));
    }
    for (int i = 0; i < (layer ? 3 : 2); ++i) expect_near(fast[i], ref[i], layer ? "layer_norm" : "rms_norm");
  }
  // The cross-entropy in both directions, vocabularies with and without a tail past the last 8,
  // an ignored position and one whose loss gradient is 0.
  for (int64_t V : {65, 50257}) {
    const Tensor logits = random({4, 3, V}, 68, 8.0f), dloss = random({4, 3}, 69);
    dloss.data<float>()[5] = 0.0f;
    Tensor targets = Tensor::empty(DType::I64, {4, 3});
    for (int64_t r = 0; r < 12; ++r) targets.data<int64_t>()[r] = r == 7 ? -100 : (r * 7919) % V;
    Tensor ref = Tensor::empty(DType::F32, {4, 3}), fast = Tensor::empty(DType::F32, {4, 3});
    cpu::cross_entropy_reference(logits, targets, -100, ref);
    ASSERT_TRUE(cpu::cross_entropy_fast(logits, targets, -100, fast));
    expect_near(fast, ref, "cross_entropy");
    Tensor dref = random({4, 3, V}, 70), dfast = copy(dref);
    cpu::cross_entropy_backward_reference(logits, targets, -100, dloss, dref);
    ASSERT_TRUE(cpu::cross_entropy_backward_fast(logits, targets, -100, dloss, dfast));
    expect_near(dfast, dref, "cross_entropy_backward");
  }
}

TEST(Tape, TiedUsesAccumulateAndUnusedOutputsCostNothing) {
  auto cpu = backend::cpu();
  const Tensor w = random({4, 3}, 60), x = random({2, 3}, 61);
  ops::Tape tape(cpu);
  Tensor dw = Tensor::zeros(DType::F32, {4, 3});
  tape.bind(w, dw);
  ops::Context c(cpu);
  c.set_tape(&tape);
  const Tensor y = ops::linear(c, x, w, nullptr);                   // w used once here…
  const Tensor z = ops::linear(c, y.reshape({2, 4}), w, nullptr, ops::OpClass::linear, true);  // …and [in, out] here
  ops::linear(c, x, w, nullptr);                                    // an output nothing uses
  EXPECT_EQ(tape.steps(), 3u);
  Tensor seed = Tensor::empty(DType::F32, z.shape());
  std::fill(seed.data<float>(), seed.data<float>() + seed.numel(), 1.0f);
  tape.backward(z, seed);
  EXPECT_EQ(tape.steps(), 0u);
  // z = (x·wᵀ)·w, so dz/dw = Σ over both uses; compare with a second, separately computed pass.
  Tensor dw1 = Tensor::zeros(DType::F32, {4, 3}), dx = Tensor::zeros(DType::F32, {2, 3}), dy = Tensor::zeros(DType::F32, {2, 4});
  cpu::linear_backward(y, w, seed, true, &dy, &dw1, nullptr);
  cpu::linear_backward(x, w, dy, false, &dx, &dw1, nullptr);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(dw.data<float>()[i], dw1.data<float>()[i], 1e-5);
}

TEST(Optimizers, FollowPyTorchsRules) {
  auto param = [](float v, float g) {
    auto p = std::make_shared<nn::Parameter>();
    p->value = Tensor::empty(DType::F32, {1, 1});
    p->value.data<float>()[0] = v;
    train::Trainable t{"w", p, Tensor::empty(DType::F32, {1, 1}), true};
    t.grad.data<float>()[0] = g;
    return std::vector<train::Trainable>{t};
  };
  // AdamW, one step: p·(1 − lr·wd) − lr·(m̂ / (√v̂ + eps)) with m̂ = g, v̂ = g².
  auto ps = param(2.0f, 0.5f);
  auto adam = train::make_optimizer({.kind = "adamw", .weight_decay = 0.1}, ps);
  adam->step(ps, 0.01);
  EXPECT_NEAR(ps[0].param->value.data<float>()[0], 2.0 * (1 - 0.001) - 0.01 * 0.5 / (0.5 + 1e-8), 1e-6);
  // SGD with Nesterov momentum 0.9 and L2 decay 0.1, two steps of the same gradient.
  ps = param(1.0f, 0.2f);
  auto sgd = train::make_optimizer({.kind = "sgd", .momentum = 0.9, .nesterov = true, .weight_decay = 0.1}, ps);
  double p = 1.0, buf = 0;
  for (int s = 0; s < 2; ++s) {
    const double d = 0.2 + 0.1 * p;
    buf = s == 0 ? d : 0.9 * buf + d;
    p -= 0.05 * (d + 0.9 * buf);
    sgd->step(ps, 0.05);
  }
  EXPECT_NEAR(ps[0].param->value.data<float>()[0], p, 1e-6);
  // The state round-trips through its tensors.
  auto again = train::make_optimizer({.kind = "sgd", .momentum = 0.9, .nesterov = true, .weight_decay = 0.1}, ps);
  again->load_state(sgd->state(), "state");
  EXPECT_EQ(again->state().size(), sgd->state().size());
  EXPECT_THROW(train::make_optimizer({.kind = "adam"}, ps), Error);
  EXPECT_THROW(train::make_optimizer({.kind = "sgd", .nesterov = true}, ps), Error);
}

TEST(Optimizers, ScheduleAndClipping) {
  const train::Schedule cosine{.kind = "cosine", .lr = 1.0, .min_lr = 0.1, .warmup = 4, .steps = 14};
  EXPECT_DOUBLE_EQ(train::learning_rate(cosine, 0), 0.25);
  EXPECT_DOUBLE_EQ(train::learning_rate(cosine, 3), 1.0);
  EXPECT_NEAR(train::learning_rate(cosine, 9), 0.55, 1e-12);  // halfway down
  EXPECT_NEAR(train::learning_rate(cosine, 14), 0.1, 1e-12);
  auto p = std::make_shared<nn::Parameter>();
  p->value = Tensor::zeros(DType::F32, {2});
  std::vector<train::Trainable> ps{{"w", p, Tensor::empty(DType::F32, {2}), false}};
  ps[0].grad.data<float>()[0] = 3;
  ps[0].grad.data<float>()[1] = 4;
  EXPECT_DOUBLE_EQ(train::clip_gradients(ps, 1.0), 5.0);
  EXPECT_NEAR(ps[0].grad.data<float>()[0], 0.6, 1e-6);
  EXPECT_NEAR(ps[0].grad.data<float>()[1], 0.8, 1e-6);
}

TEST(Data, SplitsBatchesAndPairs) {
  std::vector<int32_t> stream(100);
  for (int i = 0; i < 100; ++i) stream[i] = i;
  const train::TokenStream s = train::split_stream(stream, 8, "data.txt");
  EXPECT_EQ(s.train.size(), 90u);
  EXPECT_EQ(s.validation.front(), 90);
  train::Rng rng(5);
  const train::Batch b = train::stream_batch(s, train::Split::train, 3, 8, rng);
  for (int r = 0; r < 3; ++r)
    for (int t = 0; t < 8; ++t) EXPECT_EQ(b.targets.data<int64_t>()[r * 8 + t], b.ids.data<int64_t>()[r * 8 + t] + 1);
  try {
    train::split_stream(stream, 20, "data.txt");
    FAIL() << "a validation split shorter than a block was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("data.txt"), std::string::npos);
  }
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> pairs;
  for (int i = 0; i < 10; ++i) pairs.push_back({std::vector<int32_t>(1 + i % 3, 7), std::vector<int32_t>(2 + i % 4, 8)});
  train::Pairs p = train::split_pairs(pairs, "pairs.tsv");
  p.source_pad = 1;
  p.target_pad = 2;
  const train::Batch pb = train::pair_batch(p, train::Split::train, 4, rng);
  for (uint64_t i = 0; i < pb.ids.numel(); ++i) {
    if (pb.ids.data<int64_t>()[i] == 2) {
      EXPECT_EQ(pb.targets.data<int64_t>()[i], train::kIgnore);
    }
  }
}

// Every parameter's gradient, copied.
std::vector<Tensor> gradients_of(const std::vector<train::Trainable>& params) {
  std::vector<Tensor> out;
  for (const train::Trainable& p : params) {
    out.push_back(Tensor::empty(DType::F32, p.grad.shape()));
    std::memcpy(out.back().raw(), p.grad.raw(), p.grad.nbytes());
  }
  return out;
}

// Data parallelism: the shards' gradients, summed, are the whole batch's (up to float rounding),
// the loss is the whole batch's mean, and the result is the same bits every time. Every small
// family, and a GPT-2 wide enough that the shards' GEMMs run on oneDNN (the linear forward and the
// strided backward), with an ignored target and with dropout on.
TEST(DataParallel, ShardsAddUpToTheWholeBatchsGradient) {
  if (omp_get_max_threads() < 2) GTEST_SKIP() << "one thread: the shards would not run side by side";
  auto configs = test::small_configs();
  configs["gpt2 wide"] = {{"model_type", "gpt2"}, {"n_embd", 64}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 50},
                          {"n_positions", 32}, {"resid_pdrop", 0.1}, {"embd_pdrop", 0.1}};
  auto cpu = backend::cpu();
  for (const auto& [family, config] : configs) {
    SCOPED_TRACE(family);
    models::Model m = models::build_model(config, "test");
    models::bind_weights(m, models::synthetic_weights(m, 5, DType::F32, 0.2f));
    const nn::LanguageModel& root = *m.root;
    std::vector<train::Trainable> params = train::make_trainable(root);
    const int64_t B = 7, T = family == "gpt2 wide" ? 32 : 12;
    std::vector<int64_t> values(static_cast<size_t>(B * T));
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int64_t>((i * 7919 + 13) % 50);
    train::Batch batch{ids({B, T}, values), ids({B, T}, values), std::nullopt};
    batch.targets.data<int64_t>()[5] = train::kIgnore;
    const train::Loss whole = train::forward_backward(root, params, batch, std::nullopt, cpu);
    const std::vector<Tensor> want = gradients_of(params);
    for (int W : {2, 3}) {
      SCOPED_TRACE(fmt::format("{} workers", W));
      std::vector<Tensor> first;
      for (int run = 0; run < 2; ++run) {
        train::zero_grads(params);
        train::DataParallel parallel(params, W);
        const train::Loss loss = parallel.forward_backward(root, batch, std::nullopt, cpu);
        parallel.reduce();
        EXPECT_EQ(parallel.threads_last_pass(), W) << "the shards did not run side by side";
        EXPECT_EQ(loss.tokens, whole.tokens);
        EXPECT_NEAR(loss.mean, whole.mean, 1e-6 * std::abs(whole.mean));
        const train::Loss validation = parallel.evaluate(root, batch, cpu);  // the loss alone, sharded too
        EXPECT_EQ(validation.tokens, whole.tokens);
        EXPECT_NEAR(validation.mean, whole.mean, 1e-6 * std::abs(whole.mean));
        const std::vector<Tensor> got = gradients_of(params);
        for (size_t i = 0; i < got.size(); ++i) {
          float worst = 0, largest = 1e-6f;
          for (uint64_t j = 0; j < got[i].numel(); ++j) {
            worst = std::max(worst, std::abs(got[i].data<float>()[j] - want[i].data<float>()[j]));
            largest = std::max(largest, std::abs(want[i].data<float>()[j]));
          }
          EXPECT_LE(worst, 1e-5f * largest) << params[i].name;
          if (run == 1) {
            EXPECT_EQ(std::memcmp(got[i].raw(), first[i].raw(), got[i].nbytes()), 0) << params[i].name;
          }
        }
        first = got;
      }
    }
    if (family != "gpt2 wide") continue;
    // Dropout on: each worker's masks its own, and the same bits every time.
    std::vector<Tensor> first;
    for (int run = 0; run < 2; ++run) {
      train::zero_grads(params);
      train::DataParallel parallel(params, 2);
      parallel.forward_backward(root, batch, 77, cpu);
      parallel.reduce();
      const std::vector<Tensor> got = gradients_of(params);
      for (size_t i = 0; run == 1 && i < got.size(); ++i)
        EXPECT_EQ(std::memcmp(got[i].raw(), first[i].raw(), got[i].nbytes()), 0) << "dropout " << params[i].name;
      first = got;
    }
  }
}

TEST(Checkpoints, IncompleteFoldersAreNotResumed) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "last");
  test::write_file(dir / "last/trainer_state.json", "{}");
  EXPECT_THROW(train::read_training_checkpoint(dir / "last"), Error);
}

}  // namespace
}  // namespace anatomy
