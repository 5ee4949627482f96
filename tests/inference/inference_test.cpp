// Sampling filters on hand-made logits, generation determinism, the cached decode loop against
// full forwards, perplexity's protocols on a tiny model, and generate/eval's bad options (one line,
// exit 2). llama.cpp agreement (perplexity, greedy ids) is tests/llamacpp/text_check.py.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "backend/backend.h"
#include "inference/generate.h"
#include "inference/perplexity.h"
#include "inference/sampler.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "nn/module.h"
#include "test_util.h"
#include "tokenizer/load.h"

namespace anatomy::inference {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 2.0f, -1.0f, 0.5f};  // order: 1, 2, 0, 4, 3

std::vector<int64_t> ids_of(const std::vector<std::pair<int64_t, double>>& c) {
  std::vector<int64_t> out;
  for (const auto& [id, p] : c) out.push_back(id);
  return out;
}

TEST(Sampler, GreedyIsTheArgmax) {
  const Sampler s({.temperature = 0});
  EXPECT_EQ(ids_of(s.candidates(kLogits, {})), (std::vector<int64_t>{1}));
}

TEST(Sampler, TopKKeepsTheKMostProbable) {
  const Sampler s({.temperature = 1, .top_k = 2});
  const auto c = s.candidates(kLogits, {});
  EXPECT_EQ(ids_of(c), (std::vector<int64_t>{1, 2}));
  EXPECT_NEAR(c[0].second, 1 / (1 + std::exp(-1.0)), 1e-12);  // renormalised over the two
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  // Probabilities at temperature 1: 0.6364, 0.2341, 0.0861, 0.0522, 0.0117 (ids 1, 2, 0, 4, 3).
  EXPECT_EQ(ids_of(Sampler({.temperature = 1, .top_p = 0.6}).candidates(kLogits, {})), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids_of(Sampler({.temperature = 1, .top_p = 0.8}).candidates(kLogits, {})), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ids_of(Sampler({.temperature = 1, .top_p = 0.9}).candidates(kLogits, {})), (std::vector<int64_t>{1, 2, 0}));
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheTop) {
  // p(2)/p(1) = e^-1 = 0.368, p(0)/p(1) = e^-2 = 0.135.
  EXPECT_EQ(ids_of(Sampler({.temperature = 1, .min_p = 0.3}).candidates(kLogits, {})), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ids_of(Sampler({.temperature = 1, .min_p = 0.1}).candidates(kLogits, {})), (std::vector<int64_t>{1, 2, 0}));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  // Penalty 4 on ids 1 and 3: 3 -> 0.75, -1 -> -4; greedy now picks id 2 (logit 2).
  EXPECT_EQ(ids_of(Sampler({.temperature = 0, .repetition_penalty = 4}).candidates(kLogits, std::vector<int64_t>{1, 3, 1})),
            (std::vector<int64_t>{2}));
  const auto c = Sampler({.temperature = 1, .repetition_penalty = 4}).candidates(kLogits, std::vector<int64_t>{3});
  std::map<int64_t, double> p(c.begin(), c.end());
  EXPECT_NEAR(p[3] / p[1], std::exp(-4.0 - 3.0), 1e-12);
}

TEST(Sampler, DrawsFollowTheProbabilitiesAndRepeatForASeed) {
  Sampler a({.temperature = 1, .seed = 42}), b({.temperature = 1, .seed = 42});
  std::map<int64_t, int> counts;
  for (int i = 0; i < 20000; ++i) {
    const int64_t x = a.sample(kLogits, {});
    EXPECT_EQ(x, b.sample(kLogits, {}));
    ++counts[x];
  }
  EXPECT_NEAR(counts[1] / 20000.0, 0.6364, 0.015);
  EXPECT_NEAR(counts[2] / 20000.0, 0.2341, 0.015);
}

// A tiny llama over the 7-token byte-level vocabulary of tests/tokenizer.
struct Tiny {
  Tiny() : model(models::build_model({{"model_type", "llama"}, {"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2},
                                      {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 7},
                                      {"max_position_embeddings", 64}}, "tiny")) {
    weights = models::synthetic_weights(model, 5, DType::F32, 0.5f);
    models::bind_weights(model, weights);
    tok = tokenizer::parse_tokenizer_json(
        R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "aa": 3, "aaa": 4, "bc": 5, "Ġ": 6},
            "merges": ["a a", "aa a", "b c"]}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
            "decoder": {"type": "ByteLevel"}})", "tiny.json");
  }
  // Logits of the last position of a full forward over `ids`, no cache.
  std::vector<float> full_last(const std::vector<int64_t>& ids) const {
    const ops::Context ctx(backend::cpu());
    nn::State state(1, static_cast<int64_t>(ids.size()));
    nn::Run run(ctx, state);
    Tensor t = Tensor::empty(DType::I64, {1, static_cast<int64_t>(ids.size())});
    std::copy(ids.begin(), ids.end(), t.data<int64_t>());
    const Tensor out = model.root->forward_ids(run, t);
    const int64_t V = out.dim(-1);
    return std::vector<float>(out.data<float>() + out.numel() - V, out.data<float>() + out.numel());
  }
  models::Model model;
  io::NamedTensors weights;
  std::unique_ptr<tokenizer::Tokenizer> tok;
};

TEST(Generate, SameSeedSameTextAndGreedyFollowsFullForwards) {
  const Tiny t;
  GenerateOptions o;
  o.max_new_tokens = 20;
  o.stop_at_eos = false;
  o.sampling = {.temperature = 1.0, .seed = 9};
  const auto a = generate(t.model, *t.tok, {0, 1}, {}, o, [](std::string_view) {});
  const auto b = generate(t.model, *t.tok, {0, 1}, {}, o, [](std::string_view) {});
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_EQ(a.ids.size(), 20u);
  EXPECT_EQ(a.text, t.tok->decode(std::vector<int32_t>(a.ids.begin(), a.ids.end())));
  o.sampling = {.temperature = 0};
  const auto g = generate(t.model, *t.tok, {0, 1}, {}, o, [](std::string_view) {});
  EXPECT_EQ(g.launch, "op by op");  // the CPU runs each op as it is called: nothing to record
  EXPECT_EQ(backend::cpu()->record([] {}), nullptr);
  std::vector<int64_t> seq = {0, 1};
  for (const int64_t id : g.ids) {
    const auto z = t.full_last(seq);
    EXPECT_EQ(id, std::max_element(z.begin(), z.end()) - z.begin());
    seq.push_back(id);
  }
}

// Past a fixed context the window slides as nanoGPT's generate does: each token is the argmax of
// a full pass over the last `context` tokens.
TEST(Generate, ShortContextSlidesItsWindow) {
  Tiny t;
  t.model = models::build_model({{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4}, {"vocab_size", 7},
                                 {"n_positions", 6}}, "tiny-gpt2");
  t.weights = models::synthetic_weights(t.model, 5, DType::F32, 0.5f);
  models::bind_weights(t.model, t.weights);
  GenerateOptions o;
  o.max_new_tokens = 12;
  o.stop_at_eos = false;
  o.sampling = {.temperature = 0};
  const auto g = generate(t.model, *t.tok, {0, 1, 2}, {}, o, [](std::string_view) {});
  ASSERT_EQ(g.ids.size(), 12u);
  EXPECT_NE(g.cache.find("sliding window of 6"), std::string::npos) << g.cache;
  std::vector<int64_t> seq = {0, 1, 2};
  for (const int64_t id : g.ids) {
    const std::vector<int64_t> window(seq.end() - std::min<ptrdiff_t>(6, static_cast<ptrdiff_t>(seq.size())), seq.end());
    const auto z = t.full_last(window);
    EXPECT_EQ(id, std::max_element(z.begin(), z.end()) - z.begin());
    seq.push_back(id);
  }
}

TEST(Generate, StopStringsCutTheTextAndAreNotStreamed) {
  const Tiny t;
  GenerateOptions o;
  o.max_new_tokens = 30;
  o.stop_at_eos = false;
  o.sampling = {.temperature = 1.0, .seed = 3};
  const auto free = generate(t.model, *t.tok, {0}, {}, o, [](std::string_view) {});
  ASSERT_GE(free.text.size(), 4u);
  o.stop = {free.text.substr(2, 2)};
  std::string streamed;
  const auto r = generate(t.model, *t.tok, {0}, {}, o, [&](std::string_view s) { streamed += s; });
  EXPECT_EQ(r.stop_reason, "stop string");
  EXPECT_EQ(r.text, free.text.substr(0, free.text.find(o.stop[0])));
  EXPECT_EQ(streamed, r.text);
}

TEST(Perplexity, ProtocolsCountTheTokensTheyScore) {
  const Tiny t;
  const std::string text(300, 'a');
  auto r = perplexity(t.model, *t.tok, text + "bc bc abc " + text, {.ctx = 16}, silent_progress());
  EXPECT_EQ(r.protocol, "llama-perplexity windows");
  EXPECT_EQ(r.tokens_scored, r.windows * (16 - 1 - 8));
  EXPECT_NEAR(r.ppl, std::exp(r.nll), 1e-9);
  r = perplexity(t.model, *t.tok, text + "bc bc abc " + text, {.ctx = 16, .stride = 5}, silent_progress());
  EXPECT_EQ(r.tokens_scored, r.tokens - 1);  // every token but the first, once
  EXPECT_GT(r.bits_per_byte, 0);
}

// Bad options: one line, exit 2, naming the option.
TEST(GenerateCommand, BadOptionsAreOneLineExit2) {
  test::TempDir tmp;
  test::write_file(tmp / "config.json", R"({"model_type": "gpt2", "n_layer": 1, "n_embd": 16, "n_head": 2, "vocab_size": 7, "n_positions": 8})");
  test::write_file(tmp / "tokenizer.json", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "aa": 3, "aaa": 4, "bc": 5, "Ġ": 6},
      "merges": ["a a", "aa a", "b c"]}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"}})");
  const std::string m = tmp.path();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"generate " + m + " --prompt a -n 0", "--max-new-tokens"},
      {"generate " + m + " --prompt a --top-p 0", "--top-p"},
      {"generate " + m + " --prompt a --top-p 1.5", "--top-p"},
      {"generate " + m + " --prompt a --temperature -1", "--temperature"},
      {"generate " + m + " --prompt a --min-p 1", "--min-p"},
      {"generate " + m + " --prompt a --repetition-penalty 0", "--repetition-penalty"},
      {"generate " + m + " --prompt 'aaaaaaaaa bc bc bc bc bc bc bc bc' --random-weights", "n_positions"},
      {"generate " + m + " --random-weights", "--prompt"},
      {"eval " + m + " --text " + m + "/config.json --ctx 1", "--ctx"},
      {"eval " + m + " --text " + m + "/missing.txt --random-weights", "missing.txt"},
  };
  for (const auto& [args, must] : cases) {
    const auto r = test::run_anatomy(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find(must), std::string::npos) << args << ": " << r.err;
  }
  const auto ok = test::run_anatomy("generate " + m + " --prompt ab -n 3 --random-weights --temperature 0");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("decode"), std::string::npos) << ok.err;
}

}  // namespace
}  // namespace anatomy::inference
