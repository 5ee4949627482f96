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
  // Layer i divides its scores by i + 1 as well; reorder_and_upcast_attn changes only the
  // precision of the scores, which are f32 here anyway.
  const bool inverse_layer_scale = c.flag_or("scale_attn_by_inverse_layer_idx", false);
  c.flag_or("reorder_and_upcast_attn", false);  // validated: a boolean

  auto root = std::make_shared<nn::CausalLM>("GPT2LMHeadModel", "transformer", vocab, positions, "n_positions");
  auto tr = root->base.set(std::make_shared<nn::GptStack>("GPT2Model"));
  auto wte = tr->wte.set(std::make_shared<nn::Embedding>(vocab, d));
  tr->wpe.set(std::make_shared<nn::Embedding>(positions, d));
  tr->drop.set(std::make_shared<nn::Dropout>(c.number_or("embd_pdrop", 0.1)));
  auto h = tr->h.set(std::make_shared<nn::ModuleList<>>());
  for (int64_t i = 0; i < layers; ++i) {
    auto block = h->append(std::make_shared<nn::ResidualBlock>("GPT2Block"));
    auto& attn_sub = block->sublayer("ln_1", "attn");
    auto& mlp_sub = block->sublayer("ln_2", "mlp");
    attn_sub.norm.set(std::make_shared<nn::LayerNorm>(d, eps, true));
    auto attn = attn_sub.mixer.set(std::make_shared<nn::FusedQkvAttention>(
        "GPT2Attention", heads, d / heads, inverse_layer_scale ? static_cast<double>(i + 1) : 1.0));
    attn->c_attn.set(std::make_shared<nn::Conv1D>(d, 3 * d));
    attn->c_proj.set(std::make_shared<nn::Conv1D>(d, d));
    attn->attn_dropout.set(std::make_shared<nn::Dropout>(c.number_or("attn_pdrop", 0.1)));
    attn->resid_dropout.set(std::make_shared<nn::Dropout>(pdrop));
    mlp_sub.norm.set(std::make_shared<nn::LayerNorm>(d, eps, true));
    auto mlp = mlp_sub.mixer.set(std::make_shared<nn::PlainMLP>("GPT2MLP", "c_fc", "act", "c_proj"));
    mlp->in.set(std::make_shared<nn::Conv1D>(d, inner));
    mlp->out.set(std::make_shared<nn::Conv1D>(inner, d));
    mlp->act.set(std::make_shared<nn::ActivationModule>(act, act_class(act_name)));
    mlp->dropout.set(std::make_shared<nn::Dropout>(pdrop));
  }
  tr->ln_f.set(std::make_shared<nn::LayerNorm>(d, eps, true));
  auto head = root->lm_head.set(std::make_shared<nn::Linear>(d, vocab, false));
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
      {"attention", attention_facts(heads, heads, inverse_layer_scale
                                                      ? std::vector<std::string>{"fused_qkv", "bias", "causal", "scale_inverse_layer_idx"}
                                                      : std::vector<std::string>{"fused_qkv", "bias", "causal"})},
      {"ffn", ffn_facts("plain", act_name, fmt::format("c_proj({}(c_fc(x)))", act_name))},
      {"n_inner", inner},
      {"activation_function", act_name},
      {"norm", norm_facts("layer_norm", eps, "pre", {{"bias", true}})},
      {"layer_norm_epsilon", eps},
      {"position_embedding", {{"kind", "learned"}, {"table", "wpe"}, {"positions", positions}}},
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

const Family kGpt2{"gpt2", "transformers GPT2Config", build, checkpoint_name};

}  // namespace anatomy::models
