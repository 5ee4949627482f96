// Typed children and the language-model root: a child declared but never set is an error naming
// the parent; every family's root knows its vocabulary and context and refuses longer inputs.
#include <gtest/gtest.h>

#include "core/error.h"
#include "models/catalog.h"
#include "models/registry.h"
#include "nn/blocks.h"

namespace anatomy::nn {
namespace {

TEST(Child, AMissingChildIsAnErrorNamingTheParent) {
  FusedQkvAttention attn("GPT2Attention", 2, 4);
  attn.c_proj.set(std::make_shared<Linear>(8, 8, false));
  const ops::Context ctx(std::make_shared<backend::MetaBackend>());
  nn::State state(1, 3);
  nn::Run run(ctx, state);
  try {
    attn.forward(run, Tensor::meta(DType::F32, {1, 3, 8}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GPT2Attention has no child 'c_attn'"), std::string::npos) << e.what();
  }
  // Children join the parent in the order they are set (the state_dict order), under their names.
  ASSERT_EQ(attn.children().size(), 1u);
  EXPECT_EQ(attn.children()[0].first, "c_proj");
  EXPECT_TRUE(attn.c_proj);
  EXPECT_FALSE(attn.c_attn);
}

TEST(LanguageModel, EveryCatalogRootKnowsItsVocabularyAndContext) {
  for (const auto& e : models::catalog()) {
    const auto m = models::build_model(e.config, e.name);
    const nn::LanguageModel& lm = *m.root;
    const auto& c = e.config;
    const int64_t vocab = c.contains("dec_voc_size") ? c["dec_voc_size"].get<int64_t>() : c["vocab_size"].get<int64_t>();
    if (m.model_type != "mamba2") {
      EXPECT_EQ(lm.vocab_size(), vocab) << e.name;  // mamba_ssm pads its vocabulary
    }
    if (m.model_type == "mamba2") {
      EXPECT_EQ(lm.max_positions(), 0) << e.name;
      EXPECT_NO_THROW(lm.check_positions(1 << 20, 1 << 20));
    } else {
      ASSERT_GT(lm.max_positions(), 0) << e.name;
      EXPECT_FALSE(lm.positions_field().empty());
      EXPECT_NO_THROW(lm.check_positions(0, lm.max_positions()));
      EXPECT_THROW(lm.check_positions(1, lm.max_positions()), Error) << e.name;
    }
  }
}

}  // namespace
}  // namespace anatomy::nn
