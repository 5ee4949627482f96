// Forward passes of every family on synthetic weights: prefill + decode steps equal one full
// prefill (KV cache, conv and SSM state), batch N equals N batch-1 runs, bf16 and f16 weights stay
// within their tolerance of f32, and no NaN appears anywhere.
#include <gtest/gtest.h>

#include <cmath>

#include "models/catalog.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "nn/module.h"
#include "small_configs.h"

namespace anatomy {
namespace {

using io::json;
using test::small_configs;

struct Runner {
  explicit Runner(const json& config, DType dtype = DType::F32) : model(models::build_model(config, "test")) {
    weights = models::synthetic_weights(model, 11, dtype, 0.2f);
    models::bind_weights(model, weights);
  }
  const nn::LanguageModel& lm() const { return *model.root; }

  // Logits of every position for each batch row of ids, fed in chunks of the given sizes (with
  // last_only, as generation's passes: of each chunk's last position).
  std::vector<float> logits(const std::vector<std::vector<int64_t>>& ids, const std::vector<int64_t>& chunks,
                            bool last_only = false) const {
    const auto B = static_cast<int64_t>(ids.size()), T = static_cast<int64_t>(ids[0].size());
    const ops::Context ctx(backend::cpu());
    nn::State state(B, T);
    nn::Run run(ctx, state);
    run.last_logits_only = last_only;
    std::vector<std::vector<float>> per_row(static_cast<size_t>(B));
    int64_t at = 0;
    for (int64_t n : chunks) {
      Tensor in = Tensor::empty(DType::I64, {B, n});
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < n; ++t) in.data<int64_t>()[b * n + t] = ids[b][at + t];
      const Tensor out = lm().forward_ids(run, in);
      const int64_t rows = out.dim(1), V = out.dim(2);
      for (int64_t b = 0; b < B; ++b)
        per_row[b].insert(per_row[b].end(), out.data<float>() + b * rows * V, out.data<float>() + (b + 1) * rows * V);
      at += n;
    }
    std::vector<float> flat;
    for (auto& r : per_row) flat.insert(flat.end(), r.begin(), r.end());
    return flat;
  }
  models::Model model;
  io::NamedTensors weights;
};

float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(std::isfinite(a[i]) && std::isfinite(b[i])) << "NaN or Inf at " << i;
    m = std::max(m, std::abs(a[i] - b[i]));
  }
  return m;
}

const std::vector<int64_t> kIds = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};

TEST(Forward, PrefillThenDecodeEqualsFullPrefill) {
  for (const auto& [family, config] : small_configs()) {
    const Runner r(config);
    const auto full = r.logits({kIds}, {10});
    EXPECT_LT(max_diff(full, r.logits({kIds}, {4, 1, 1, 1, 3})), 2e-5f) << family;
    EXPECT_LT(max_diff(full, r.logits({kIds}, std::vector<int64_t>(10, 1))), 2e-5f) << family;
  }
}

// Generation's passes keep only the last position after the last layer's attention or Mamba
// mixer (its MLP and the LM head see that one): each chunk's logits are the full pass's at the
// chunk's last position, and the caches and states left behind carry the next chunk on exactly.
TEST(Forward, LastLogitsOnlyEqualTheFullPassAtEachChunksEnd) {
  for (const auto& [family, config] : small_configs()) {
    const Runner r(config);
    const auto full = r.logits({kIds}, {10});
    const size_t V = full.size() / kIds.size();
    std::vector<float> expect;
    for (size_t t : {3, 6, 9}) expect.insert(expect.end(), full.begin() + t * V, full.begin() + (t + 1) * V);
    EXPECT_LT(max_diff(expect, r.logits({kIds}, {4, 3, 3}, true)), 2e-5f) << family;
  }
}

// The encoder-decoder encodes its source once per state and decodes on its KV caches: target
// chunks give the logits of one pass over the whole target. (Not with padding in the target: its
// padded query rows attend uniformly to every key of the whole target, future ones included, which
// no cache can know — generation never feeds padding.)
TEST(Forward, EncoderDecoderCachedDecodeEqualsFullPass) {
  const std::vector<int64_t> target = {3, 2, 4, 7, 5, 9, 2, 6, 5, 3};  // no padding id (1)
  models::Model model = models::build_model({{"model_type", "transformer_encdec"}, {"d_model", 16}, {"n_head", 4}, {"ffn_hidden", 24},
                                             {"n_layers", 2}, {"enc_voc_size", 50}, {"dec_voc_size", 50}, {"max_len", 32}}, "test");
  const auto weights = models::synthetic_weights(model, 11, DType::F32, 0.2f);
  models::bind_weights(model, weights);
  Tensor source = Tensor::empty(DType::I64, {1, 7});
  for (int64_t i = 0; i < 7; ++i) source.data<int64_t>()[i] = 2 + 3 * i;
  const auto logits = [&](const std::vector<int64_t>& chunks) {
    const ops::Context ctx(backend::cpu());
    nn::State state(1, 10);
    nn::Run run(ctx, state);
    run.source_ids = &source;
    std::vector<float> all;
    int64_t at = 0;
    for (const int64_t n : chunks) {
      Tensor in = Tensor::empty(DType::I64, {1, n});
      std::copy(target.begin() + at, target.begin() + at + n, in.data<int64_t>());
      const Tensor out = model.root->forward_ids(run, in);
      all.insert(all.end(), out.data<float>(), out.data<float>() + out.numel());
      at += n;
    }
    return all;
  };
  const auto full = logits({10});
  EXPECT_LT(max_diff(full, logits({4, 1, 1, 1, 3})), 2e-5f);
  EXPECT_LT(max_diff(full, logits(std::vector<int64_t>(10, 1))), 2e-5f);
}

TEST(Forward, BatchEqualsSeparateRuns) {
  std::vector<int64_t> other(kIds.rbegin(), kIds.rend());
  for (const auto& [family, config] : small_configs()) {
    const Runner r(config);
    auto separate = r.logits({kIds}, {10});
    const auto second = r.logits({other}, {10});
    separate.insert(separate.end(), second.begin(), second.end());
    EXPECT_LT(max_diff(separate, r.logits({kIds, other}, {6, 4})), 2e-5f) << family;
  }
}

TEST(Forward, HalfPrecisionWeightsStayClose) {
  for (const auto& [family, config] : small_configs()) {
    const Runner f32(config, DType::F32), bf16(config, DType::BF16), f16(config, DType::F16);
    const auto ref = f32.logits({kIds}, {10});
    // Weights rounded to 8 (bf16) or 11 (f16) significant bits; activations stay f32.
    EXPECT_LT(max_diff(ref, bf16.logits({kIds}, {10})), 5e-2f) << family;
    EXPECT_LT(max_diff(ref, f16.logits({kIds}, {10})), 5e-3f) << family;
  }
}

}  // namespace
}  // namespace anatomy
