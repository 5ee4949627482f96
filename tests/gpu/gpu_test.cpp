// The CUDA backend on whole models: every family's logits on the GPU against the CPU engine on the
// same synthetic weights (f32 within 1e-4 relative; bf16 weights within 5e-2 absolute, the GEMM
// rounding activations to bf16), cached decode on the GPU equal to one full pass, decode steps
// replayed from a recorded CUDA graph equal to the same steps op by op, and the profiler's
// invariants with event timing (Σ self = root inclusive; FLOPs and bytes equal to the meta run);
// and the kernels with several paths (linear, attention, scan) against the CPU's scalar reference,
// each asserting which path ran. Exits 77 (CTest's skip) with one line saying why when there is no GPU. The per-op
// comparisons are tests/ops (its cuda instance).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <numeric>

#include "analysis/profile.h"
#include "backend/backend.h"
#include "backend/cpu/kernels.h"
#ifdef ANATOMY_HAVE_CUDA
#include "backend/cuda/kernels.h"
#endif
#include "inference/state_passes.h"
#include "ops/ops.h"
#include "test_util.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "nn/module.h"
#include "small_configs.h"

namespace anatomy {
namespace {

using io::json;

// small_configs() plus the families and features it leaves out: sliding windows, Qwen2's biases,
// nanoGPT, the encoder-decoder.
std::map<std::string, json> families() {
  auto all = test::small_configs();
  all["mistral"] = all.at("llama");
  all["mistral"].update({{"model_type", "mistral"}, {"sliding_window", 4}});
  all["qwen2"] = all.at("llama");
  all["qwen2"]["model_type"] = "qwen2";
  all["nanogpt"] = {{"model_type", "nanogpt"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 50}, {"block_size", 16}};
  all["transformer_encdec"] = {{"model_type", "transformer_encdec"}, {"d_model", 16}, {"n_head", 4}, {"ffn_hidden", 24},
                               {"n_layers", 2}, {"enc_voc_size", 50}, {"dec_voc_size", 50}, {"src_pad_idx", 1},
                               {"trg_pad_idx", 1}};
  return all;
}

const std::vector<int64_t> kIds = {3, 2, 4, 7, 5, 9, 2, 6, 5, 3};

Tensor ids_of(const std::vector<int64_t>& v, size_t from, size_t n) {
  Tensor t = Tensor::empty(DType::I64, {1, static_cast<int64_t>(n)});
  for (size_t i = 0; i < n; ++i) t.data<int64_t>()[i] = v[from + i];
  return t;
}

// The logits `pass` returns for the ids fed in chunks, concatenated (as host floats).
std::vector<float> chunked(const backend::Backend& device, const std::vector<int64_t>& chunks,
                           const std::function<Tensor(const Tensor& ids)>& pass) {
  std::vector<float> out;
  size_t at = 0;
  for (int64_t n : chunks) {
    const Tensor z = device.to_host(pass(ids_of(kIds, at, static_cast<size_t>(n))));
    out.insert(out.end(), z.data<float>(), z.data<float>() + z.numel());
    at += static_cast<size_t>(n);
  }
  return out;
}

// Logits of every position, the ids fed in chunks, on `device`.
std::vector<float> logits(const models::Model& m, const std::shared_ptr<const backend::Backend>& device,
                          const std::vector<int64_t>& chunks) {
  const ops::Context ctx(device);
  nn::State state(1, static_cast<int64_t>(kIds.size()));
  nn::Run run(ctx, state);
  const Tensor source = ids_of(kIds, 0, 6);
  run.source_ids = m.root->source_vocab_size() > 0 ? &source : nullptr;
  return chunked(*device, chunks, [&](const Tensor& ids) { return m.root->forward_ids(run, ids); });
}

double max_abs(const std::vector<float>& a, const std::vector<float>& b, double* max_ref = nullptr) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0, r = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(std::isfinite(a[i])) << "non-finite logit at " << i;
    m = std::max(m, static_cast<double>(std::abs(a[i] - b[i])));
    r = std::max(r, static_cast<double>(std::abs(b[i])));
  }
  if (max_ref) *max_ref = r;
  return m;
}

TEST(Cuda, EveryFamilyMatchesTheCpuEngine) {
  for (const auto& [family, config] : families())
    for (DType dtype : {DType::F32, DType::BF16}) {
      models::Model m = models::build_model(config, "test");
      const auto w = models::synthetic_weights(m, 11, dtype, 0.2f);
      models::bind_weights(m, w);
      const auto cpu = logits(m, backend::cpu(), {10});
      models::upload_weights(m, *backend::cuda());
      const auto gpu = logits(m, backend::cuda(), {10});
      double ref = 0;
      const double err = max_abs(gpu, cpu, &ref);
      if (dtype == DType::F32) EXPECT_LE(err, 1e-4 * std::max(1.0, ref)) << family << " f32";
      else EXPECT_LE(err, 5e-2) << family << " bf16";
      std::printf("%-20s %s: max |gpu - cpu| %.2e (max |logit| %.2f)\n", family.c_str(), dtype_name(dtype), err, ref);
    }
}

#ifdef ANATOMY_HAVE_CUDA
// Up to 8 rows take the GEMV kernel (f32 activations, weights read once in their dtype); more take
// cuBLASLt. Both against the CPU's scalar reference.
TEST(Cuda, LinearPathsMatchTheReference) {
  const auto gpu = backend::cuda();
  const ops::Context ctx(gpu);
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int64_t M : {1, 3, 8, 9, 61})
      for (bool bias : {false, true}) {
        const int64_t N = 300, K = 136;
        const Tensor x = test::random_tensor(DType::F32, {1, M, K}, 1, -1, 1), w = test::random_tensor(dt, {N, K}, 2, -1, 1),
                     b = test::random_tensor(DType::F32, {N}, 3, -1, 1);
        Tensor want = Tensor::empty(DType::F32, {1, M, N});
        cpu::linear_reference(x, w, bias ? &b : nullptr, false, want);
        const uint64_t gemv_before = cuda::gemv_runs();
        const Tensor bd = gpu->upload(b);
        const Tensor got = gpu->to_host(ops::linear(ctx, gpu->upload(x), gpu->upload(w), bias ? &bd : nullptr));
        EXPECT_EQ(cuda::gemv_runs() - gemv_before, M <= 8 ? 1u : 0u) << "M=" << M;
        // The GEMV keeps f32 activations; cuBLASLt rounds them to the weights' half type.
        const double tol = M <= 8 || dt == DType::F32 ? 1e-4 : 2e-2;
        for (uint64_t i = 0; i < want.numel(); ++i)
          ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], tol * (1 + std::abs(want.data<float>()[i])))
              << dtype_name(dt) << " M=" << M << " at " << i;
      }
}

// Prefill attention (T ≥ 32) runs as batched GEMMs around a masked softmax: against the CPU's
// scalar reference on GQA, causal and full, key and query padding, -inf and finite fills, a
// sliding window and a KV cache read in place.
TEST(Cuda, PrefillAttentionMatchesTheReference) {
  const auto gpu = backend::cuda();
  const ops::Context ctx(gpu);
  const ops::Context reference(backend::cpu());
  const int64_t B = 2, T = 40, Hq = 8, Hkv = 2, hd = 64;
  for (int64_t slots : {T, int64_t{64}}) {
    const int64_t past = slots - T > 0 ? 10 : 0, keys = past + T;
    const Tensor q = test::random_tensor(DType::F32, {B, T, Hq, hd}, 11), k = test::random_tensor(DType::F32, {B, slots, Hkv, hd}, 12),
                 v = test::random_tensor(DType::F32, {B, slots, Hkv, hd}, 13);
    Tensor keep_keys = Tensor::zeros(DType::F32, {B, keys}), keep_rows = Tensor::zeros(DType::F32, {B, T});
    for (int64_t i = 0; i < B * keys; ++i) keep_keys.data<float>()[i] = i % keys % 5 == 3 ? 0.0f : 1.0f;
    for (int64_t i = 0; i < B * T; ++i) keep_rows.data<float>()[i] = i % T == 7 ? 0.0f : 1.0f;
    const Tensor qd = gpu->upload(q), kd = gpu->upload(k), vd = gpu->upload(v);
    for (const ops::AttentionOptions& o :
         {ops::AttentionOptions{.scale = 0.125f, .past = past, .keys = keys},
          ops::AttentionOptions{.scale = 0.125f, .causal = false, .past = past, .keys = keys, .key_padding = &keep_keys},
          ops::AttentionOptions{.scale = 0.125f, .past = past, .keys = keys, .window = 8},
          ops::AttentionOptions{.scale = 0.125f, .causal = false, .past = past, .keys = keys, .masked_value = -10000.0f,
                                .key_padding = &keep_keys, .query_padding = &keep_rows}}) {
      const uint64_t before = cuda::attention_gemm_runs();
      const Tensor got = gpu->to_host(ops::attention(ctx, qd, kd, vd, o));
      EXPECT_EQ(cuda::attention_gemm_runs(), before + 1) << "the prefill path did not run";
      const Tensor want = ops::attention(reference, q, k, v, o);
      for (uint64_t i = 0; i < want.numel(); ++i)
        ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5 * (1 + std::abs(want.data<float>()[i])))
            << "slots " << slots << " window " << o.window << " causal " << o.causal << " at " << i;
    }
  }
}

#endif

#ifdef ANATOMY_HAVE_CUDA
// Both scans against the CPU's scalar reference (outputs and the final state): the chunked SSD
// form (prefill, T ≥ 16: several chunks, the last one partial) and the recurrence (short passes),
// at Nemotron-H's head and state sizes and at smaller state sizes (other lanes per entry).
TEST(Cuda, ScansMatchTheReference) {
  const auto gpu = backend::cuda();
  const ops::Context ctx(gpu);
  const int64_t B = 2, H = 4, P = 20, G = 2;
  for (const auto& [T, N] : std::vector<std::pair<int64_t, int64_t>>{{40, 128}, {70, 64}, {5, 128}, {3, 16}, {1, 64}}) {
    const Tensor x = test::random_tensor(DType::F32, {B, T, H, P}, 1), Bm = test::random_tensor(DType::F32, {B, T, G, N}, 2),
                 Cm = test::random_tensor(DType::F32, {B, T, G, N}, 3), D = test::random_tensor(DType::F32, {H}, 4),
                 dt = test::random_tensor(DType::F32, {B, T, H}, 5, 0.01f, 0.5f), A = test::random_tensor(DType::F32, {H}, 6, -2, -0.1f),
                 state = test::random_tensor(DType::F32, {B, H, P, N}, 7);
    Tensor want_state = Tensor::empty(DType::F32, state.shape()), want = Tensor::empty(DType::F32, x.shape());
    std::memcpy(want_state.raw(), state.raw(), state.nbytes());
    cpu::ssm_scan_reference(x, dt, A, Bm, Cm, D, want_state, want);
    Tensor s = gpu->upload(state);
    const uint64_t before = cuda::ssd_runs();
    const Tensor got = gpu->to_host(ops::ssm_scan(ctx, gpu->upload(x), gpu->upload(dt), gpu->upload(A), gpu->upload(Bm),
                                                  gpu->upload(Cm), gpu->upload(D), s));
    EXPECT_EQ(cuda::ssd_runs() - before, T >= 16 ? 1u : 0u) << "T=" << T << ": the expected scan did not run";
    const Tensor got_state = gpu->to_host(s);
    for (uint64_t i = 0; i < want.numel(); ++i)
      ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-4 * (1 + std::abs(want.data<float>()[i])))
          << "T=" << T << " N=" << N << " y at " << i;
    for (uint64_t i = 0; i < want_state.numel(); ++i)
      ASSERT_NEAR(got_state.data<float>()[i], want_state.data<float>()[i], 1e-4 * (1 + std::abs(want_state.data<float>()[i])))
          << "T=" << T << " N=" << N << " state at " << i;
  }
}
#endif

TEST(Cuda, CachedDecodeEqualsOneFullPass) {
  for (const auto& [family, config] : families()) {
    if (family == "transformer_encdec") continue;  // its target chunks are checked on the CPU (padding rows)
    models::Model m = models::build_model(config, "test");
    const auto w = models::synthetic_weights(m, 11, DType::F32, 0.2f);
    models::bind_weights(m, w);
    models::upload_weights(m, *backend::cuda());
    const auto full = logits(m, backend::cuda(), {10});
    EXPECT_LT(max_abs(full, logits(m, backend::cuda(), {4, 1, 1, 1, 3})), 2e-5) << family;
    EXPECT_LT(max_abs(full, logits(m, backend::cuda(), std::vector<int64_t>(10, 1))), 2e-5) << family;
  }
}

// Decode steps through StatePasses: the third and later one-token passes replay a recorded CUDA
// graph with positions shifted (rope, KV cache slots, the causal and sliding-window masks, GPT-2's
// learned positions, Mamba states updated in place). Logits equal one full pass, and the same
// steps run op by op (ANATOMY_CUDA_GRAPHS=0) within float rounding.
std::vector<float> stepped_logits(const models::Model& m, std::string* how) {
  const auto gpu = backend::cuda();
  const ops::Context ctx(gpu);
  nn::State state(1, static_cast<int64_t>(kIds.size()));
  inference::StatePasses passes(*m.root, ctx, state, nullptr);
  const auto out = chunked(*gpu, {3, 1, 1, 1, 1, 1, 1, 1}, [&](const Tensor& ids) { return passes.last_logits(ids); });
  *how = passes.how();
  return out;
}

TEST(Cuda, RecordedDecodeStepsEqualOpByOp) {
  for (const auto& [family, config] : families()) {
    if (family == "transformer_encdec") continue;  // runs op by op (its position table grows)
    models::Model m = models::build_model(config, "test");
    const auto w = models::synthetic_weights(m, 11, DType::F32, 0.2f);
    models::bind_weights(m, w);
    models::upload_weights(m, *backend::cuda());
    // The full pass's logits at the positions the stepped passes end on (2, 3, …, 9).
    const auto full = logits(m, backend::cuda(), {10});
    const int64_t V = m.root->vocab_size();
    const std::vector<float> want(full.begin() + 2 * V, full.end());
    std::string how, how_plain;
    const auto replayed = stepped_logits(m, &how);
    setenv("ANATOMY_CUDA_GRAPHS", "0", 1);
    const auto plain = stepped_logits(m, &how_plain);
    unsetenv("ANATOMY_CUDA_GRAPHS");
    EXPECT_NE(how.find("CUDA graph"), std::string::npos) << family << ": " << how;
    EXPECT_NE(how_plain.find("op by op"), std::string::npos) << family << ": " << how_plain;
    EXPECT_LT(max_abs(replayed, want), 2e-5) << family;
    EXPECT_LT(max_abs(replayed, plain), 1e-6) << family;
  }
}

#ifdef ANATOMY_HAVE_CUDA
// Decode attention with the keys split over several blocks (one query row per head leaves most
// SMs idle) against the CPU's scalar reference: GQA, a long cache read in place, causal and
// sliding window, one and four query steps.
TEST(Cuda, SplitKeyAttentionMatchesTheReference) {
  const auto gpu = backend::cuda();
  const ops::Context ctx(gpu);
  const ops::Context reference(backend::cpu());
  const int64_t B = 2, Hq = 8, Hkv = 2, hd = 64, slots = 2048;
  for (int64_t T : {1, 4})
    for (int64_t window : {0, 300}) {
      const int64_t past = 1500, keys = past + T;
      const Tensor q = test::random_tensor(DType::F32, {B, T, Hq, hd}, 21), k = test::random_tensor(DType::F32, {B, slots, Hkv, hd}, 22),
                   v = test::random_tensor(DType::F32, {B, slots, Hkv, hd}, 23);
      const ops::AttentionOptions o{.scale = 0.125f, .past = past, .keys = keys, .window = window};
      const uint64_t before = cuda::attention_split_runs();
      const Tensor got = gpu->to_host(ops::attention(ctx, gpu->upload(q), gpu->upload(k), gpu->upload(v), o));
      EXPECT_EQ(cuda::attention_split_runs(), before + 1) << "the split-key path did not run";
      const Tensor want = ops::attention(reference, q, k, v, o);
      for (uint64_t i = 0; i < want.numel(); ++i)
        ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5 * (1 + std::abs(want.data<float>()[i])))
            << "T " << T << " window " << window << " at " << i;
    }
}
#endif

TEST(Cuda, ProfileInvariantsWithEventTiming) {
  for (const auto& [family, config] : test::small_configs())
    for (const analysis::ProfileOptions& o :
         {analysis::ProfileOptions{.tokens = 7, .warmup = 1, .repeat = 1, .backend = backend::cuda()},
          analysis::ProfileOptions{.batch = 2, .tokens = 1, .decode = true, .context = 4, .warmup = 0, .repeat = 2,
                                   .backend = backend::cuda()}}) {
      models::Model m = models::build_model(config, "test");
      const auto w = models::synthetic_weights(m, 3, DType::F32);
      models::bind_weights(m, w);
      models::upload_weights(m, *backend::cuda());
      const analysis::ProfileReport r = analysis::profile_model(m, o);
      const double sum = std::accumulate(r.self_s.begin(), r.self_s.end(), 0.0);
      if (o.repeat == 1) {
        EXPECT_NEAR(sum, r.inclusive_s[0], 1e-9) << family;
      }
      EXPECT_GT(r.inclusive_s[0], 0.0) << family;
      const analysis::CostReport meta = analysis::analyze_cost(m, {o.batch, o.tokens, o.context, o.decode});
      ASSERT_EQ(r.cost.modules.size(), meta.modules.size()) << family;
      for (size_t i = 0; i < meta.modules.size(); ++i) {
        EXPECT_EQ(r.cost.modules[i].flops, meta.modules[i].flops) << family << " " << meta.modules[i].path;
        EXPECT_EQ(r.cost.modules[i].bytes, meta.modules[i].bytes) << family << " " << meta.modules[i].path;
      }
    }
}

}  // namespace
}  // namespace anatomy

int main(int argc, char** argv) {
  if (std::string why; !anatomy::backend::cuda_available(&why)) {
    std::printf("gpu_test skipped: %s\n", why.c_str());
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
