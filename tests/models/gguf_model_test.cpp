// A GGUF file of each supported architecture, written with the project's writer under
// llama.cpp's names, is read back into the same model tree with the same counts.
#include <gtest/gtest.h>

#include "analysis/params.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "models/checkpoint.h"
#include "models/loader.h"
#include "models/registry.h"
#include "test_util.h"

namespace anatomy::models {
namespace {

using Layout = io::GgufNameMapping::Layout;

// GGUF's layout of a Hugging Face tensor (zeros; only shapes matter here).
Tensor gguf_tensor(const Tensor& hf, Layout layout) {
  Shape s = hf.shape();
  if (layout == Layout::transposed) std::swap(s[0], s[1]);
  if (s.size() == 3 && s[1] == 1) s = {s[0], s[2]};        // conv1d [C, 1, K] -> [C, K]
  if (layout == Layout::neg_exp || (layout == Layout::reshaped && s.size() == 1 && hf.numel() < 64)) s = {s[0], 1};
  return Tensor::zeros(DType::F32, s);
}

void write_gguf(const std::string& path, const std::string& arch, const Model& m,
                const std::function<void(io::GgufWriter&)>& metadata) {
  io::GgufWriter w;
  w.add_string("general.architecture", arch);
  metadata(w);
  for (const auto& [name, t] : synthetic_weights(m, 1, DType::F32)) {
    const auto g = io::hf_to_gguf_name(arch, name);
    ASSERT_TRUE(g.has_value()) << name;
    w.add_tensor(g->first, gguf_tensor(t, g->second));
  }
  w.write(path);
}

void expect_same_counts(const std::string& path, const Model& m) {
  const LoadedModel lm = load_model(path);
  EXPECT_EQ(lm.model.model_type, m.model_type);
  EXPECT_EQ(analysis::count_params(lm.model).total, analysis::count_params(m).total) << path;
  EXPECT_EQ(analysis::count_params(lm.model).total_with_tied, analysis::count_params(m).total_with_tied) << path;
}

TEST(GgufModels, Llama) {
  test::TempDir tmp;
  const Model m = build_model({{"model_type", "llama"}, {"hidden_size", 32}, {"intermediate_size", 48},
                               {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                               {"vocab_size", 40}, {"tie_word_embeddings", true}}, "c");
  write_gguf(tmp / "m.gguf", "llama", m, [](io::GgufWriter& w) {
    w.add_u32("llama.embedding_length", 32);
    w.add_u32("llama.block_count", 2);
    w.add_u32("llama.feed_forward_length", 48);
    w.add_u32("llama.attention.head_count", 4);
    w.add_u32("llama.attention.head_count_kv", 2);
    w.add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  });
  expect_same_counts(tmp / "m.gguf", m);
}

TEST(GgufModels, AbsurdHyperParametersAreRefusedBeforeBuilding) {
  test::TempDir tmp;
  const Model m = build_model({{"model_type", "llama"}, {"hidden_size", 32}, {"intermediate_size", 48},
                               {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
                               {"vocab_size", 40}, {"tie_word_embeddings", true}}, "c");
  auto with = [&](uint32_t blocks, uint32_t heads) {
    write_gguf(tmp / "m.gguf", "llama", m, [&](io::GgufWriter& w) {
      w.add_u32("llama.embedding_length", 32);
      w.add_u32("llama.block_count", blocks);
      w.add_u32("llama.feed_forward_length", 48);
      w.add_u32("llama.attention.head_count", heads);
      w.add_u32("llama.attention.head_count_kv", 2);
    });
  };
  with(uint32_t{1} << 31, 4);
  test::expect_error([&] { load_model(tmp / "m.gguf"); }, {tmp / "m.gguf", "num_hidden_layers", "2147483648"});
  with(100000, 4);
  test::expect_error([&] { load_model(tmp / "m.gguf"); }, {tmp / "m.gguf", "num_hidden_layers", "limit 4096"});
  with(2, 0);
  test::expect_error([&] { load_model(tmp / "m.gguf"); }, {tmp / "m.gguf", "num_attention_heads", "must be positive"});
}

TEST(GgufModels, Gpt2) {
  test::TempDir tmp;
  const Model m = build_model({{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4},
                               {"vocab_size", 40}, {"n_positions", 16}}, "c");
  write_gguf(tmp / "m.gguf", "gpt2", m, [](io::GgufWriter& w) {
    w.add_u32("gpt2.embedding_length", 32);
    w.add_u32("gpt2.block_count", 2);
    w.add_u32("gpt2.feed_forward_length", 128);
    w.add_u32("gpt2.attention.head_count", 4);
    w.add_u32("gpt2.context_length", 16);
  });
  expect_same_counts(tmp / "m.gguf", m);
}

TEST(GgufModels, Mamba2) {
  test::TempDir tmp;
  const Model m = build_model({{"model_type", "mamba2"}, {"hidden_size", 32}, {"num_heads", 4}, {"head_dim", 16},
                               {"state_size", 8}, {"n_groups", 2}, {"expand", 2}, {"num_hidden_layers", 2},
                               {"vocab_size", 40}, {"tie_word_embeddings", true}}, "c");
  write_gguf(tmp / "m.gguf", "mamba2", m, [](io::GgufWriter& w) {
    w.add_u32("mamba2.embedding_length", 32);
    w.add_u32("mamba2.block_count", 2);
    w.add_u32("mamba2.ssm.conv_kernel", 4);
    w.add_u32("mamba2.ssm.inner_size", 64);
    w.add_u32("mamba2.ssm.state_size", 8);
    w.add_u32("mamba2.ssm.time_step_rank", 4);
    w.add_u32("mamba2.ssm.group_count", 2);
  });
  expect_same_counts(tmp / "m.gguf", m);
}

TEST(GgufModels, NemotronH) {
  test::TempDir tmp;
  const Model m = build_model({{"model_type", "nemotron_h"}, {"hidden_size", 32}, {"num_hidden_layers", 4},
                               {"hybrid_override_pattern", "M-*M"}, {"mamba_num_heads", 4}, {"mamba_head_dim", 16},
                               {"ssm_state_size", 8}, {"n_groups", 2}, {"num_attention_heads", 4},
                               {"num_key_value_heads", 2}, {"head_dim", 8}, {"intermediate_size", 48},
                               {"vocab_size", 40}}, "c");
  write_gguf(tmp / "m.gguf", "nemotron_h", m, [](io::GgufWriter& w) {
    w.add_u32("nemotron_h.embedding_length", 32);
    w.add_u32("nemotron_h.block_count", 4);
    w.add_u32s("nemotron_h.attention.head_count", {0, 0, 4, 0});
    w.add_u32s("nemotron_h.attention.head_count_kv", {0, 0, 2, 0});
    w.add_u32s("nemotron_h.feed_forward_length", {0, 48, 0, 0});
    w.add_u32("nemotron_h.attention.key_length", 8);
    w.add_u32("nemotron_h.ssm.conv_kernel", 4);
    w.add_u32("nemotron_h.ssm.inner_size", 64);
    w.add_u32("nemotron_h.ssm.state_size", 8);
    w.add_u32("nemotron_h.ssm.time_step_rank", 4);
    w.add_u32("nemotron_h.ssm.group_count", 2);
  });
  expect_same_counts(tmp / "m.gguf", m);
  EXPECT_EQ(load_model(tmp / "m.gguf").model.config["layer_pattern"], "M-*M");
}

}  // namespace
}  // namespace anatomy::models
