// GPT-2 (HF modeling_gpt2.py, GPT2Config defaults). Its projections are HF Conv1D modules whose
// weights are stored [in, out]. Published checkpoints may lack the "transformer." prefix and may
// carry the causal-mask buffers attn.bias / attn.masked_bias, which are not parameters.
#include <fmt/format.h>

#include "models/families.h"
#include "nn/blocks.h"

namespace anatomy::models {
namespace {

const char* act_class(const std::string& name) {
  if (name == "gelu_new") return "NewGELUActivation";
  if (name == "gelu") return "GELUActivation";
  if (name == "gelu_pytorch_tanh") return "PytorchGELUTanh";
  if (name == "relu") return "ReLU";
  return "SiLU";
}

Model build(const ConfigReader& c) {
  const int64_t d = c.count("n_embd"), layers = c.layers("n_layer"), heads = c.count("n_head"),
                vocab = c.count("vocab_size"), positions = c.count_or("n_positions", 1024),
                inner = c.count_or("n_inner", 4 * d);
  check_heads(c, "n_embd", "n_head", nullptr, nullptr);
  const double eps = c.positive_or("layer_norm_epsilon", 1e-5);
  const std::string act_name = c.string_or("activation_function", "gelu_new");
  const auto act = nn::activation_from_hf(act_name);
  const bool tied = c.flag_or("tie_word_embeddings", true);
  const double pdrop = c.number_or("resid_pdrop", 0.1);

  auto root = std::make_shared<nn::GptLM>("GPT2LMHeadModel");
  auto tr = root->add("transformer", std::make_shared<nn::Module>("GPT2Model"));
  auto wte = tr->add("wte", std::make_shared<nn::Embedding>(vocab, d));
  tr->add("wpe", std::make_shared<nn::Embedding>(positions, d));
  tr->add("drop", std::make_shared<nn::Dropout>(c.number_or("embd_pdrop", 0.1)));
  auto h = tr->add("h", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = h->add(std::to_string(i), std::make_shared<nn::ResidualBlock>(
        "GPT2Block", std::vector<std::pair<std::string, std::string>>{{"ln_1", "attn"}, {"ln_2", "mlp"}}));
    block->add("ln_1", std::make_shared<nn::LayerNorm>(d, eps, true));
    auto attn = block->add("attn", std::make_shared<nn::FusedQkvAttention>("GPT2Attention", heads, d / heads));
    attn->add("c_attn", std::make_shared<nn::Conv1D>(d, 3 * d));
    attn->add("c_proj", std::make_shared<nn::Conv1D>(d, d));
    attn->add("attn_dropout", std::make_shared<nn::Dropout>(c.number_or("attn_pdrop", 0.1)));
    attn->add("resid_dropout", std::make_shared<nn::Dropout>(pdrop));
    block->add("ln_2", std::make_shared<nn::LayerNorm>(d, eps, true));
    auto mlp = block->add("mlp", std::make_shared<nn::PlainMLP>("GPT2MLP", "c_fc", "act", "c_proj"));
    mlp->add("c_fc", std::make_shared<nn::Conv1D>(d, inner));
    mlp->add("c_proj", std::make_shared<nn::Conv1D>(inner, d));
    mlp->add("act", std::make_shared<nn::ActivationModule>(act, act_class(act_name)));
    mlp->add("dropout", std::make_shared<nn::Dropout>(pdrop));
  }
  tr->add("ln_f", std::make_shared<nn::LayerNorm>(d, eps, true));
  auto head = root->add("lm_head", std::make_shared<nn::Linear>(d, vocab, false));
  head->cls = ops::OpClass::head;
  if (tied) head->tie_weight(wte->weight);

  Model m;
  m.architecture = "GPT2LMHeadModel";
  m.model_type = "gpt2";
  m.root = root;
  m.config = {
      {"n_embd", d},
      {"n_layer", layers},
      {"vocab_size", vocab},
      {"n_head", heads},
      {"num_key_value_heads", heads},
      {"head_dim", d / heads},
      {"gqa_ratio", 1},
      {"attention", attention_kind(heads, heads) + ", fused c_attn (q, k, v), biases"},
      {"ffn", fmt::format("c_proj({}(c_fc(x))), not gated", act_name)},
      {"n_inner", inner},
      {"activation_function", act_name},
      {"norm", fmt::format("LayerNorm, eps {:g}, pre-norm", eps)},
      {"layer_norm_epsilon", eps},
      {"position_embedding", fmt::format("learned (wpe), {} positions", positions)},
      {"n_positions", positions},
      {"tie_word_embeddings", tied},
  };
  return m;
}

std::string checkpoint_name(const std::string& name) {
  const auto ends_with = [&](std::string_view s) {
    return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with(".attn.bias") || ends_with(".attn.masked_bias")) return "";
  if (name.rfind("transformer.", 0) == 0 || name.rfind("lm_head.", 0) == 0) return name;
  return "transformer." + name;
}

}  // namespace

const Family kGpt2{"gpt2", build, checkpoint_name};

}  // namespace anatomy::models
