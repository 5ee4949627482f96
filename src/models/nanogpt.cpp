// nanoGPT (karpathy/nanoGPT model.py; config = the checkpoint's model_args). Stock nanoGPT ties
// lm_head to wte and has no head bias; `"tie_word_embeddings": false, "lm_head_bias": true`
// describe the untied, biased head of seed 001. Compiled checkpoints prefix keys "_orig_mod.".
#include <fmt/format.h>

#include "models/families.h"
#include "nn/blocks.h"

namespace anatomy::models {
namespace {

Model build(const ConfigReader& c) {
  const int64_t C = c.count("n_embd"), layers = c.layers("n_layer"), heads = c.count("n_head"),
                vocab = c.count("vocab_size"), block_size = c.count("block_size");
  check_heads(c, "n_embd", "n_head", nullptr, nullptr);
  const bool bias = c.flag_or("bias", true);  // GPTConfig default
  const bool tied = c.flag_or("tie_word_embeddings", true);
  const bool head_bias = c.flag_or("lm_head_bias", false);
  if (tied && head_bias) c.error("lm_head_bias", "a tied lm_head has no bias in nanoGPT");
  const double dropout = c.number_or("dropout", 0.0);

  auto root = std::make_shared<nn::GptLM>("GPT");
  auto tr = root->add("transformer", std::make_shared<nn::Module>("ModuleDict"));
  auto wte = tr->add("wte", std::make_shared<nn::Embedding>(vocab, C));
  tr->add("wpe", std::make_shared<nn::Embedding>(block_size, C));
  tr->add("drop", std::make_shared<nn::Dropout>(dropout));
  auto h = tr->add("h", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = h->add(std::to_string(i), std::make_shared<nn::ResidualBlock>(
        "Block", std::vector<std::pair<std::string, std::string>>{{"ln_1", "attn"}, {"ln_2", "mlp"}}));
    block->add("ln_1", std::make_shared<nn::LayerNorm>(C, 1e-5, bias));
    auto attn = block->add("attn", std::make_shared<nn::FusedQkvAttention>("CausalSelfAttention", heads, C / heads));
    attn->add("c_attn", std::make_shared<nn::Linear>(C, 3 * C, bias));
    attn->add("c_proj", std::make_shared<nn::Linear>(C, C, bias));
    attn->add("attn_dropout", std::make_shared<nn::Dropout>(dropout));
    attn->add("resid_dropout", std::make_shared<nn::Dropout>(dropout));
    block->add("ln_2", std::make_shared<nn::LayerNorm>(C, 1e-5, bias));
    auto mlp = block->add("mlp", std::make_shared<nn::PlainMLP>("MLP", "c_fc", "gelu", "c_proj"));
    mlp->add("c_fc", std::make_shared<nn::Linear>(C, 4 * C, bias));
    mlp->add("gelu", std::make_shared<nn::ActivationModule>(nn::Activation::gelu, "GELU"));
    mlp->add("c_proj", std::make_shared<nn::Linear>(4 * C, C, bias));
    mlp->add("dropout", std::make_shared<nn::Dropout>(dropout));
  }
  tr->add("ln_f", std::make_shared<nn::LayerNorm>(C, 1e-5, bias));
  auto head = root->add("lm_head", std::make_shared<nn::Linear>(C, vocab, head_bias));
  head->cls = ops::OpClass::head;
  if (tied) head->tie_weight(wte->weight);

  Model m;
  m.architecture = "GPT";
  m.model_type = "nanogpt";
  m.root = root;
  m.config = {
      {"n_embd", C},
      {"n_layer", layers},
      {"vocab_size", vocab},
      {"n_head", heads},
      {"num_key_value_heads", heads},
      {"head_dim", C / heads},
      {"gqa_ratio", 1},
      {"attention", attention_kind(heads, heads) + ", causal, fused c_attn (q, k, v)" +
                        (bias ? ", biases" : ", no bias")},
      {"ffn", "c_proj(gelu(c_fc(x))), exact GELU, not gated"},
      {"ffn_width", 4 * C},
      {"norm", std::string("LayerNorm, eps 1e-05, pre-norm") + (bias ? ", with bias" : ", no bias")},
      {"bias", bias},
      {"position_embedding", fmt::format("learned (wpe), {} positions", block_size)},
      {"block_size", block_size},
      {"dropout", dropout},
      {"tie_word_embeddings", tied},
      {"lm_head_bias", head_bias},
  };
  return m;
}

std::string checkpoint_name(const std::string& name) {
  std::string n = name.rfind("_orig_mod.", 0) == 0 ? name.substr(10) : name;
  if (n.size() > 10 && n.compare(n.size() - 10, 10, ".attn.bias") == 0) return "";  // causal mask buffer
  return n;
}

bool claims(const json& j) {
  return !j.contains("model_type") && j.contains("n_embd") && j.contains("block_size");
}

}  // namespace

const Family kNanoGpt{"nanogpt", build, checkpoint_name, claims};

}  // namespace anatomy::models
