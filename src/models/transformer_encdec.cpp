// The encoder-decoder Transformer of hyunwoongko/transformer (seed 000): post-LN layers,
// sinusoidal positions (not a parameter), LayerNorm parameters named gamma/beta, an untied
// output projection decoder.linear. Defaults are the repository's conf.py.
#include <fmt/format.h>

#include "models/families.h"
#include "nn/layers.h"

namespace anatomy::models {
namespace {

struct Sizes {
  int64_t d, ffn;
  double eps, drop;
};

std::shared_ptr<nn::Module> attention(const Sizes& s) {
  auto m = std::make_shared<nn::Module>("MultiHeadAttention");
  m->add("attention", std::make_shared<nn::Module>("ScaleDotProductAttention"));
  for (const char* name : {"w_q", "w_k", "w_v", "w_concat"})
    m->add(name, std::make_shared<nn::Linear>(s.d, s.d, true));
  return m;
}

std::shared_ptr<nn::Module> ffn(const Sizes& s) {
  auto m = std::make_shared<nn::Module>("PositionwiseFeedForward");
  m->add("linear1", std::make_shared<nn::Linear>(s.d, s.ffn, true));
  m->add("linear2", std::make_shared<nn::Linear>(s.ffn, s.d, true));
  m->add("relu", std::make_shared<nn::ActivationModule>(nn::Activation::relu, "ReLU"));
  m->add("dropout", std::make_shared<nn::Dropout>(s.drop));
  return m;
}

std::shared_ptr<nn::LayerNorm> norm(const Sizes& s) {
  return std::make_shared<nn::LayerNorm>(s.d, s.eps, true, "LayerNorm", "gamma", "beta");
}

std::shared_ptr<nn::Module> embedding(const Sizes& s, int64_t vocab) {
  auto m = std::make_shared<nn::Module>("TransformerEmbedding");
  m->add("tok_emb", std::make_shared<nn::Embedding>(vocab, s.d, "TokenEmbedding"));
  m->add("pos_emb", std::make_shared<nn::Module>("PositionalEncoding"));
  m->add("drop_out", std::make_shared<nn::Dropout>(s.drop));
  return m;
}

Model build(const ConfigReader& c) {
  const Sizes s{c.count("d_model"), c.count("ffn_hidden"), c.positive_or("layer_norm_eps", 1e-12),
                c.number_or("drop_prob", 0.1)};
  const int64_t layers = c.count("n_layers"), heads = c.count_or("n_head", 8),
                enc_vocab = c.count("enc_voc_size"), dec_vocab = c.count("dec_voc_size"),
                max_len = c.count_or("max_len", 256);
  check_heads(c, "d_model", "n_head", nullptr, nullptr);
  if (c.flag_or("tie_word_embeddings", false))
    c.error("tie_word_embeddings", "hyunwoongko/transformer never ties its output projection");

  auto root = std::make_shared<nn::Module>("Transformer");
  auto enc = root->add("encoder", std::make_shared<nn::Module>("Encoder"));
  enc->add("emb", embedding(s, enc_vocab));
  auto enc_layers = enc->add("layers", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < layers; ++i) {
    auto l = enc_layers->add(std::to_string(i), std::make_shared<nn::Module>("EncoderLayer"));
    l->add("attention", attention(s));
    l->add("norm1", norm(s));
    l->add("dropout1", std::make_shared<nn::Dropout>(s.drop));
    l->add("ffn", ffn(s));
    l->add("norm2", norm(s));
    l->add("dropout2", std::make_shared<nn::Dropout>(s.drop));
  }
  auto dec = root->add("decoder", std::make_shared<nn::Module>("Decoder"));
  dec->add("emb", embedding(s, dec_vocab));
  auto dec_layers = dec->add("layers", std::make_shared<nn::ModuleList>());
  for (int64_t i = 0; i < layers; ++i) {
    auto l = dec_layers->add(std::to_string(i), std::make_shared<nn::Module>("DecoderLayer"));
    l->add("self_attention", attention(s));
    l->add("norm1", norm(s));
    l->add("dropout1", std::make_shared<nn::Dropout>(s.drop));
    l->add("enc_dec_attention", attention(s));
    l->add("norm2", norm(s));
    l->add("dropout2", std::make_shared<nn::Dropout>(s.drop));
    l->add("ffn", ffn(s));
    l->add("norm3", norm(s));
    l->add("dropout3", std::make_shared<nn::Dropout>(s.drop));
  }
  dec->add("linear", std::make_shared<nn::Linear>(s.d, dec_vocab, true));

  Model m;
  m.architecture = "Transformer";
  m.model_type = "transformer_encdec";
  m.root = root;
  m.config = {
      {"d_model", s.d},
      {"n_layers", layers},
      {"encoder_layers", layers},
      {"decoder_layers", layers},
      {"enc_voc_size", enc_vocab},
      {"dec_voc_size", dec_vocab},
      {"n_head", heads},
      {"num_key_value_heads", heads},
      {"head_dim", s.d / heads},
      {"gqa_ratio", 1},
      {"attention", attention_kind(heads, heads) +
                        ", encoder self, decoder causal self + cross, biases, mask fill -10000"},
      {"ffn", "linear2(relu(linear1(x))), not gated"},
      {"ffn_hidden", s.ffn},
      {"norm", fmt::format("LayerNorm (gamma, beta), eps {:g}, post-norm", s.eps)},
      {"layer_norm_eps", s.eps},
      {"position_embedding", fmt::format("sinusoidal, fixed (not a parameter), max_len {}", max_len)},
      {"max_len", max_len},
      {"drop_prob", s.drop},
      {"tie_word_embeddings", false},
  };
  return m;
}

}  // namespace

const Family kTransformerEncDec{"transformer_encdec", build};

}  // namespace anatomy::models
