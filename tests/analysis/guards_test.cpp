// Memory prediction of the resource guard against the sizes the engine really allocates, and the
// guard's refusal.
#include <gtest/gtest.h>

#include "analysis/guards.h"
#include "backend/device.h"
#include "core/error.h"
#include "models/registry.h"
#include "nn/module.h"
#include "small_configs.h"

namespace anatomy::analysis {
namespace {

TEST(Guards, PlanCountsWeightsCachesAndActivations) {
  // llama: hidden 32, 2 layers, 2 KV heads of 8; batch 2 × 10 tokens, f32 caches.
  const auto m = models::build_model(test::small_configs().at("llama"), "t");
  const MemoryPlan p = plan_memory(m, {.batch = 2, .tokens = 6, .context = 4}, 2.0);
  uint64_t params = 0;
  for (const auto& ref : nn::parameter_slots(*m.root)) params += ref.param->value.numel();
  EXPECT_EQ(p.weights, 2 * params);
  EXPECT_EQ(p.state, 2u /*layers*/ * 2 /*K,V*/ * 2 /*batch*/ * 10 /*tokens*/ * 2 /*heads*/ * 8 /*dim*/ * 4);
  EXPECT_GT(p.activations, 0u);
  EXPECT_EQ(p.total(), p.weights + p.state + p.activations);

  const auto z = models::build_model(test::small_configs().at("zamba2"), "t");
  EXPECT_GT(plan_memory(z, {.tokens = 3}, 0).state, 0u);  // SSM and conv states
}

TEST(Guards, RefusesBeyondAvailableUnlessForced) {
  ASSERT_GT(backend::available_memory(), 0u);
  MemoryPlan huge;
  huge.weights = uint64_t{1} << 62;
  try {
    check_memory(huge, "big.safetensors", false);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::resource);
    EXPECT_NE(std::string(e.what()).find("big.safetensors"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
  }
  EXPECT_NO_THROW(check_memory(huge, "big.safetensors", true));
  EXPECT_NO_THROW(check_memory(MemoryPlan{}, "small", false));
}

}  // namespace
}  // namespace anatomy::analysis
