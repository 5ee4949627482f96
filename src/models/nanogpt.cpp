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

  auto root = std::make_shared<nn::CausalLM>("GPT", "transformer", vocab, block_size, "block_size");
  auto tr = root->base.set(std::make_shared<nn::GptStack>("ModuleDict"));
  auto wte = tr->wte.set(std::make_shared<nn::Embedding>(vocab, C));
  tr->wpe.set(std::make_shared<nn::Embedding>(block_size, C));
  tr->drop.set(std::make_shared<nn::Dropout>(dropout));
  auto h = tr->h.set(std::make_shared<nn::ModuleList<>>());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = h->append(std::make_shared<nn::ResidualBlock>("Block"));
    auto& attn_sub = block->sublayer("ln_1", "attn");
    auto& mlp_sub = block->sublayer("ln_2", "mlp");
    attn_sub.norm.set(std::make_shared<nn::LayerNorm>(C, 1e-5, bias));
    auto attn = attn_sub.mixer.set(std::make_shared<nn::FusedQkvAttention>("CausalSelfAttention", heads, C / heads));
    attn->c_attn.set(std::make_shared<nn::Linear>(C, 3 * C, bias));
    attn->c_proj.set(std::make_shared<nn::Linear>(C, C, bias));
    attn->attn_dropout.set(std::make_shared<nn::Dropout>(dropout));
    attn->resid_dropout.set(std::make_shared<nn::Dropout>(dropout));
    mlp_sub.norm.set(std::make_shared<nn::LayerNorm>(C, 1e-5, bias));
    auto mlp = mlp_sub.mixer.set(std::make_shared<nn::PlainMLP>("MLP", "c_fc", "gelu", "c_proj"));
    mlp->in.set(std::make_shared<nn::Linear>(C, 4 * C, bias));
    mlp->act.set(std::make_shared<nn::ActivationModule>(Activation::gelu, "GELU"));
    mlp->out.set(std::make_shared<nn::Linear>(4 * C, C, bias));
    mlp->dropout.set(std::make_shared<nn::Dropout>(dropout));
  }
  tr->ln_f.set(std::make_shared<nn::LayerNorm>(C, 1e-5, bias));
  auto head = root->lm_head.set(std::make_shared<nn::Linear>(C, vocab, head_bias));
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
      {"attention", attention_facts(heads, heads, {"fused_qkv", bias ? "bias" : "no_bias", "causal"})},
      {"ffn", ffn_facts("plain", "gelu", "c_proj(gelu(c_fc(x)))")},
      {"ffn_width", 4 * C},
      {"norm", norm_facts("layer_norm", 1e-5, "pre", {{"bias", bias}})},
      {"bias", bias},
      {"position_embedding", {{"kind", "learned"}, {"table", "wpe"}, {"positions", block_size}}},
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

const Family kNanoGpt{"nanogpt", "nanoGPT model.py GPTConfig", build, checkpoint_name, claims};

}  // namespace anatomy::models
