// Parameter counts of every seed config (ARCHITECTURES.md §11, shared/models/README.md), of the
// catalog, and of other real configs of the same families (published model-card totals).
#include <gtest/gtest.h>

#include "analysis/params.h"
#include "core/error.h"
#include "models/catalog.h"
#include "models/loader.h"
#include "models/registry.h"
#include "test_util.h"

namespace anatomy::models {
namespace {

struct Expected {
  const char* name;
  uint64_t unique, with_tied;
};

constexpr Expected kSeeds[] = {
    {"llama-3.2-3b", 3'212'749'824, 3'606'752'256},
    {"llama-3.1-nemotron-nano-4b-v1.1", 4'512'746'496, 4'512'746'496},
    {"nvidia-nemotron-nano-9b-v2", 8'888'227'328, 8'888'227'328},
    {"zamba2-1.2b", 1'215'064'704, 1'280'600'704},
    {"gpt2", 124'439'808, 163'037'184},
    {"mamba2-130m", 128'989'632, 167'610'816},
    {"transformer-encdec-seed", 2'471'764, 2'471'764},
    {"nanogpt-shakespeare-char", 206'272, 210'432},
};

TEST(ParamCount, EverySharedConfig) {
  if (!test::have_shared()) GTEST_SKIP() << "no " << test::shared_dir() << " beside the checkout";
  for (const auto& e : kSeeds) {
    const auto lm = load_model(test::shared_dir() + "/models/" + e.name + "/config.json");
    const auto r = analysis::count_params(lm.model);
    EXPECT_EQ(r.total, e.unique) << e.name;
    EXPECT_EQ(r.total_with_tied, e.with_tied) << e.name;
  }
}

TEST(ParamCount, Catalog) {
  const std::map<std::string, uint64_t> expected = {
      {"llama-3.2-1b", 1'235'814'400}, {"llama-3.2-3b", 3'212'749'824},
      {"llama-3.1-nemotron-nano-4b-v1.1", 4'512'746'496}, {"nemotron-nano-9b-v2", 8'888'227'328},
      {"zamba2-1.2b", 1'215'064'704}, {"gpt2", 124'439'808}, {"mamba2-130m", 128'989'632},
      {"nanogpt-shakespeare-char", 206'272}, {"nanogpt-shakespeare-char-seed", 210'497},
      {"transformer-encdec-seed", 2'471'764}};
  for (const auto& [name, count] : expected) {
    const auto lm = load_model(name);
    EXPECT_EQ(analysis::count_params(lm.model).total, count) << name;
  }
  EXPECT_EQ(catalog().size(), expected.size());
}

uint64_t count(const json& config) { return analysis::count_params(build_model(config, "test.json")).total; }

TEST(ParamCount, OtherRealConfigs) {
  // Qwen/Qwen2.5-0.5B: q/k/v biases, tied.
  EXPECT_EQ(count({{"model_type", "qwen2"}, {"hidden_size", 896}, {"intermediate_size", 4864},
                   {"num_hidden_layers", 24}, {"num_attention_heads", 14}, {"num_key_value_heads", 2},
                   {"vocab_size", 151936}, {"tie_word_embeddings", true}}),
            494'032'768u);
  // Qwen/Qwen3-0.6B: explicit head_dim 128 (≠ 1024/16), q/k norms, tied.
  EXPECT_EQ(count({{"model_type", "qwen3"}, {"hidden_size", 1024}, {"intermediate_size", 3072},
                   {"num_hidden_layers", 28}, {"num_attention_heads", 16}, {"num_key_value_heads", 8},
                   {"head_dim", 128}, {"vocab_size", 151936}, {"tie_word_embeddings", true}}),
            596'049'920u);
  // mistralai/Mistral-7B-v0.1.
  EXPECT_EQ(count({{"model_type", "mistral"}, {"hidden_size", 4096}, {"intermediate_size", 14336},
                   {"num_hidden_layers", 32}, {"num_attention_heads", 32}, {"num_key_value_heads", 8},
                   {"vocab_size", 32000}}),
            7'241'732'096u);
  // openai-community/gpt2-medium.
  EXPECT_EQ(count({{"model_type", "gpt2"}, {"n_embd", 1024}, {"n_layer", 24}, {"n_head", 16}, {"vocab_size", 50257}}),
            354'823'168u);
  // mistralai/Mamba-Codestral-7B-v0.1 (Hugging Face Mamba2Config format, 8 groups, untied).
  EXPECT_EQ(count({{"model_type", "mamba2"}, {"hidden_size", 4096}, {"num_heads", 128}, {"head_dim", 64},
                   {"state_size", 128}, {"n_groups", 8}, {"expand", 2}, {"num_hidden_layers", 64},
                   {"vocab_size", 32768}, {"tie_word_embeddings", false}}),
            7'285'403'648u);
}

TEST(ParamCount, Llama3RopeScalingIsValidated) {
  json c = {{"model_type", "llama"}, {"hidden_size", 64}, {"intermediate_size", 128}, {"num_hidden_layers", 1},
            {"num_attention_heads", 4}, {"vocab_size", 10},
            {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8}, {"low_freq_factor", 4},
                              {"high_freq_factor", 1}, {"original_max_position_embeddings", 8192}}}};
  EXPECT_THROW(build_model(c, "c.json"), Error);
  c["rope_scaling"]["high_freq_factor"] = 8;
  const auto m = build_model(c, "c.json");
  EXPECT_EQ(m.config["rope"]["scaling"], "llama3");
  EXPECT_EQ(m.config["rope"]["factor"], 8.0);
  EXPECT_EQ(m.config["rope"]["high_freq_factor"], 8.0);
}

TEST(Structure, NamesAndShapesAreHuggingFaces) {
  const auto shapes = [](const std::string& name) {
    std::map<std::string, Shape> out;
    for (const auto& ref : nn::all_parameter_paths(*load_model(name).model.root)) out[ref.path] = ref.param->value.shape();
    return out;
  };
  auto gpt2 = shapes("gpt2");
  EXPECT_EQ(gpt2.at("transformer.h.0.attn.c_attn.weight"), (Shape{768, 2304})) << "Conv1D is [in, out]";
  EXPECT_EQ(gpt2.at("lm_head.weight"), (Shape{50257, 768}));
  auto nemo = shapes("nemotron-nano-9b-v2");
  EXPECT_EQ(nemo.at("backbone.layers.0.mixer.in_proj.weight"), (Shape{22656, 4480}));
  EXPECT_EQ(nemo.at("backbone.layers.0.mixer.conv1d.weight"), (Shape{12288, 1, 4}));
  EXPECT_EQ(nemo.at("backbone.layers.14.mixer.q_proj.weight"), (Shape{5120, 4480}));
  EXPECT_EQ(nemo.at("backbone.layers.1.mixer.up_proj.weight"), (Shape{15680, 4480}));
  auto zamba = shapes("zamba2-1.2b");
  EXPECT_EQ(zamba.at("model.layers.35.shared_transformer.self_attn.linear_q_adapter_list.5.0.weight"), (Shape{128, 4096}));
  EXPECT_EQ(zamba.at("model.layers.5.shared_transformer.feed_forward.gate_up_proj_adapter_list.0.1.weight"),
            (Shape{16384, 128}));
  EXPECT_EQ(zamba.at("model.layers.5.mamba_decoder.mamba.in_proj.weight"), (Shape{8512, 2048}));
  auto mamba = shapes("mamba2-130m");
  EXPECT_EQ(mamba.at("backbone.embedding.weight"), (Shape{50288, 768})) << "vocabulary padded to 16";
  EXPECT_EQ(mamba.at("backbone.layers.23.mixer.in_proj.weight"), (Shape{3352, 768}));
}

TEST(Structure, Zamba2SharedBlocksAreOneObjectEach) {
  auto config = find_catalog("zamba2-1.2b")->config;
  config["num_mem_blocks"] = 2;
  const auto m = build_model(config, "zamba2-2blocks.json");
  const auto& layers = *m.root->find_child("model")->find_child("layers");
  const auto block_of = [&](int layer) { return layers.find_child(std::to_string(layer))->find_child("shared_transformer").get(); };
  EXPECT_EQ(block_of(5), block_of(17));
  EXPECT_NE(block_of(5), block_of(11));
  // Block 0 owns adapters at ordinals 0, 2, 4; the other slots are Identity.
  const auto& adapters = *block_of(5)->find_child("self_attn")->find_child("linear_q_adapter_list");
  EXPECT_EQ(adapters.find_child("0")->type(), "Sequential");
  EXPECT_EQ(adapters.find_child("1")->type(), "Identity");
  const auto r = analysis::count_params(m);
  EXPECT_EQ(r.total, 1'215'064'704u + 142'088'192u - 18'874'368u - 14'155'776u)
      << "a second block adds its dense weights; the six adapter sets are split between the two";
}

using Kind = analysis::ComponentRow::Kind;

// Top-level rows (everything but the one-layer rows, whose parts the stack row multiplies) add up
// to the unique total.
uint64_t top_level_sum(const analysis::ParamReport& r) {
  uint64_t sum = 0;
  for (const auto& c : r.components)
    if (c.depth == 0 && c.kind != Kind::layer) sum += c.params;
  return sum;
}

TEST(Breakdown, Seed001Arithmetic) {
  const auto r = analysis::count_params(load_model("nanogpt-shakespeare-char-seed").model);
  std::map<std::string, uint64_t> rows;
  for (const auto& c : r.components)
    rows[c.kind == Kind::layer ? c.name + " (layer)" : c.kind == Kind::stack ? c.name + " (stack)" : c.name] = c.params;
  EXPECT_EQ(rows.at("transformer.wte"), 4160u);
  EXPECT_EQ(rows.at("transformer.wpe"), 2048u);
  EXPECT_EQ(rows.at("attn"), 16640u);
  EXPECT_EQ(rows.at("mlp"), 33088u);
  EXPECT_EQ(rows.at("transformer.h.0 (layer)"), 49984u);
  EXPECT_EQ(rows.at("transformer.h (stack)"), 199936u);
  EXPECT_EQ(rows.at("transformer.ln_f"), 128u);
  EXPECT_EQ(rows.at("lm_head"), 4225u);
  EXPECT_EQ(r.total, 210497u);
  EXPECT_EQ(top_level_sum(r), r.total);
}

TEST(Breakdown, TiedHeadIsMarkedNotCounted) {
  const auto r = analysis::count_params(load_model("llama-3.2-3b").model);
  const auto& head = r.tensors.back();
  EXPECT_EQ(head.name, "lm_head.weight");
  EXPECT_EQ(head.tied_to, "model.embed_tokens.weight");
  EXPECT_EQ(r.components.back().tied_to, "model.embed_tokens.weight");
  EXPECT_EQ(r.components.back().params, 0u);
  EXPECT_EQ(top_level_sum(r), r.total) << "top-level rows add up to the unique total";
}

// Zamba2-2.7B and 7B alternate two shared blocks (num_mem_blocks 2): both get a row, each listing
// the layers that apply it, and the rows still add up to the total.
TEST(Breakdown, TwoSharedBlocksAreBothListed) {
  json config = {{"model_type", "zamba2"}, {"hidden_size", 64}, {"num_hidden_layers", 8}, {"vocab_size", 50},
                 {"num_attention_heads", 4}, {"intermediate_size", 96}, {"num_mem_blocks", 2}, {"adapter_rank", 8},
                 {"use_shared_attention_adapter", false}, {"mamba_d_state", 16},
                 {"n_mamba_heads", 4}, {"layers_block_type", {"mamba", "hybrid", "mamba", "hybrid", "mamba", "hybrid", "mamba", "hybrid"}}};
  const auto m = build_model(config, "c.json");
  const auto r = analysis::count_params(m);
  std::vector<const analysis::ComponentRow*> shared;
  for (const auto& row : r.components)
    if (row.kind == Kind::shared_block) shared.push_back(&row);
  ASSERT_EQ(shared.size(), 2u);
  EXPECT_EQ(shared[0]->applied_at, (std::vector<std::string>{"model.layers.1.shared_transformer",
                                                               "model.layers.5.shared_transformer"}));
  EXPECT_EQ(shared[1]->applied_at, (std::vector<std::string>{"model.layers.3.shared_transformer",
                                                               "model.layers.7.shared_transformer"}));
  EXPECT_NE(shared[0]->name, shared[1]->name);
  EXPECT_EQ(top_level_sum(r), r.total);
  // The adapters are described as facts: rank and targets, whichever are on.
  EXPECT_EQ(m.config["adapters"]["rank"], 8);
  EXPECT_EQ(m.config["adapters"]["on"].dump(), R"(["gate_up_proj"])");
}

}  // namespace
}  // namespace anatomy::models
